"""Run by tests/test_audit_matrix.py in a child process per Keras backend: every built-in kind,
imported from the library lossgen generated (on PYTHONPATH), audited with every check and
--against its own kind, in one `run_many`. Prints one JSON object: kind -> {check id: [status, detail]}.

    python tests/audit_matrix_probe.py BACKEND PACKAGE
"""

from __future__ import annotations

import json
import sys

from scaffold.audit import CHECK_IDS
from scaffold.audit.reference import resolve
from scaffold.audit.runner import Job, run_many
from scaffold.catalog import load_catalog
from scaffold.names import LossNames


def main(backend: str, package: str) -> None:
    catalog = load_catalog()
    jobs = []
    for kind in catalog.names():
        names = LossNames.derive(kind)
        target = f"{package}.{names.module}:{names.class_name}"
        jobs.append(Job(target, catalog.get(kind).task, {}, backend, resolve(kind, []), list(CHECK_IDS)))
    reports = run_many(jobs)
    found = {}
    for kind, report in zip(catalog.names(), reports, strict=True):
        if isinstance(report, Exception):
            found[kind] = {"load": ["fail", str(report)]}
        else:
            found[kind] = {r.id: [r.status, r.detail] for r in report.results}
    print(json.dumps(found))


if __name__ == "__main__":
    main(*sys.argv[1:])
