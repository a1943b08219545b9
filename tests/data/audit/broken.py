import no_such_module_for_lossgen_audit  # noqa: F401
