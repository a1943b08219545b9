"""The `lossgen` command: parsing, prompting and printing only; the work happens in the modules below.

Exit codes: 0 success, 1 generated tests failed, 2 bad input (usage or spec errors),
3 the project was generated but its tests could not run (e.g. R is not installed).
"""

from __future__ import annotations

import copy
import functools
import os
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import click

from scaffold import __version__
from scaffold import about
from scaffold.about import DEFAULT_LICENSE, LICENSES
from scaffold.catalog import Catalog, load_catalog
from scaffold.errors import LossgenError, SpecError, UsageError
from scaffold.record import TARGETS
from scaffold.spec import TASKS, LossSpec, Param

TARGET_CHOICES = (*TARGETS, "both")
BACKENDS = ("tensorflow", "jax", "torch")  # Keras backends the generated Python tests run on
EXIT_TESTS_FAILED, EXIT_USAGE, EXIT_TESTS_NOT_RUN = 1, 2, 3


class SpecParamType(click.ParamType):
    """Click type backed by a spec parameter: Click re-prompts and reports errors with its message."""

    def __init__(self, param: Param):
        self.param = param
        self.name = param.type

    def convert(self, value, option, ctx):
        if not isinstance(value, str):
            return value
        try:
            return self.param.parse(value)
        except ValueError as exc:
            self.fail(str(exc), option, ctx)


class KindType(click.ParamType):
    """A kind from the catalog; a typo gets the closest name suggested and the prompt repeats."""

    name = "kind"

    def __init__(self, catalog: Catalog, numbered: list[str] | None = None):
        self.catalog = catalog
        self.numbered = numbered or []  # menu order: "3" picks the third kind shown

    def convert(self, value, option, ctx):
        if isinstance(value, LossSpec):
            return value
        value = value.strip()
        if value.isdigit() and self.numbered:
            if 1 <= int(value) <= len(self.numbered):
                return self.catalog.get(self.numbered[int(value) - 1])
            self.fail(f"{value} is not a number from the list (1-{len(self.numbered)})", option, ctx)
        try:
            return self.catalog.get(value)
        except UsageError as exc:
            self.fail(str(exc), option, ctx)


def complete_kind(ctx, param, incomplete: str):
    """Shell completion of kind names (eval "$(_LOSSGEN_COMPLETE=bash_source lossgen)")."""
    from click.shell_completion import CompletionItem

    try:
        catalog = load_catalog(tuple(ctx.params.get("catalogs") or ()))
    except LossgenError:
        return []
    return [CompletionItem(name, help=catalog.specs[name].summary)
            for name in catalog.names() if name.startswith(incomplete)]


def option_name(param: Param) -> str:
    return "--" + param.name.replace("_", "-")


def spec_options(spec: LossSpec) -> list[click.Option]:
    options = []
    for p in spec.params.values():
        default = _show_value(p, p.default)
        help_text = f"{p.help} Allowed: {p.describe_allowed()}. [default: {default}]".strip()
        if p.type == "bool":
            flag = p.name.replace("_", "-")
            options.append(click.Option([f"--{flag}/--no-{flag}", p.name], default=None, help=help_text))
        else:
            options.append(click.Option([option_name(p), p.name], type=SpecParamType(p), default=None,
                                        metavar=p.type.upper(), help=help_text))
    return options


def _show_value(p: Param, value: Any) -> str:
    if p.type == "float_list":
        return ",".join(repr(v) for v in value)
    if p.type == "bool":
        return "true" if value else "false"
    return str(value)


def _peek(args: list[str], flag: str) -> list[str]:
    found = []
    for i, arg in enumerate(args):
        if arg == flag and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith(flag + "="):
            found.append(arg.split("=", 1)[1])
    return found


def _first_positional(args: list[str]) -> str | None:
    takes_value = False
    for arg in args:
        if takes_value:
            takes_value = False
        elif arg in ("--target", "--catalog"):
            takes_value = True
        elif not arg.startswith("-"):
            return arg
    return None


def open_catalog(catalog_dirs: tuple[str, ...] | list[str]) -> Catalog:
    try:
        return load_catalog(tuple(catalog_dirs))
    except LossgenError as exc:
        raise OneLineError(str(exc)) from None


class OneLineError(click.ClickException):
    exit_code = EXIT_USAGE


class KindCommand(click.Command):
    """A command whose options include the chosen kind's parameters (`--kind huber --delta 2`)."""

    def __init__(self, *args, kind_from: str = "--kind", **kwargs):
        super().__init__(*args, **kwargs)
        self.base_params = list(self.params)
        self.kind_from = kind_from

    def spec_in(self, args: list[str]) -> LossSpec | None:
        """The kind named on the command line (or, for `update`, in PROJECT's record), if any."""
        catalogs = _peek(args, "--catalog")
        if self.kind_from == "record":  # `update [PROJECT] --delta 3`: the record names the kind
            from scaffold import update
            from scaffold.record import read_record

            # PROJECT is optional and kind options take values: the first argument that is a directory
            candidates = [Path(arg) for arg in args if not arg.startswith("-")]
            project = next((path for path in candidates if path.is_dir()), Path("."))
            try:
                return update.find_spec(read_record(project), project, tuple(catalogs))
            except LossgenError:
                return None  # the command itself reports what is wrong with the project
        if self.kind_from == "argument":  # the first positional argument, e.g. `show huber --delta 2`
            kind = _first_positional(args)
        else:
            kinds = _peek(args, "--kind")
            kind = kinds[-1] if kinds else None
        if kind is None:
            return None
        try:
            return open_catalog(catalogs).get(kind)
        except UsageError as exc:
            raise OneLineError(str(exc)) from None

    def format_options(self, ctx, formatter):
        spec = ctx.meta.get("lossgen.spec")
        own = [p for p in self.get_params(ctx) if p not in self.params[len(self.base_params):]]
        rows = [record for p in own if (record := p.get_help_record(ctx))]
        with formatter.section("Options"):
            formatter.write_dl(rows)
        kind_rows = [record for p in self.params[len(self.base_params):] if (record := p.get_help_record(ctx))]
        if spec is not None:
            with formatter.section(f"Parameters of {spec.name} ({spec.title})"):
                formatter.write_dl(kind_rows or [("(none)", "this kind has no parameters")])

    def parse_args(self, ctx, args):
        self.params = list(self.base_params)
        spec = self.spec_in(args)
        if spec is not None:
            self.params += spec_options(spec)
        ctx.meta["lossgen.spec"] = spec
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            if spec is None:
                raise
            valid = ", ".join(option_name(p) for p in spec.params.values())
            raise click.UsageError(f"no such option {exc.option_name} for kind '{spec.name}' "
                                   f"(its parameters: {valid or 'none'})", ctx) from None


def _catch(fn):
    """Turn lossgen errors into one-line Click errors with the right exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (UsageError, SpecError) as exc:
            raise OneLineError(str(exc)) from None
        except LossgenError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = 1
            raise error from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="lossgen")
def cli():
    """Generate tested custom Keras 3 loss functions, in Python or R, from loss specs.

    \b
      lossgen list                          the kinds of loss available
      lossgen show huber --delta 2          print the generated loss code
      lossgen new --kind huber --delta 2    write a project and run its tests
    """


catalog_option = click.option("--catalog", "catalogs", multiple=True, metavar="DIR",
                              help="A team catalog directory of spec files (repeatable; searched first).")


@cli.command("list")
@click.option("--task", type=click.Choice(list(TASKS)), help="Only kinds for this task.")
@catalog_option
@_catch
def list_kinds(task, catalogs):
    """List the kinds of loss with one-line summaries."""
    catalog = open_catalog(catalogs)
    names = catalog.names(task)
    if not names:
        click.echo(f"no kinds for task {task}")
        return
    width = max(map(len, names))
    task_width = max(len(catalog.specs[n].task) for n in names)
    for name in names:
        spec = catalog.specs[name]
        origin = "" if spec.origin == "built-in" else f"  [{spec.origin}: {spec.path}]"
        click.echo(_fit(f"{name:<{width}}  {spec.task:<{task_width}}  {spec.summary}") + origin)


def _fit(line: str) -> str:
    """In a terminal, a line is cut to fit its width; piped output keeps it whole."""
    columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    return line[:columns - 1] + "…" if columns and len(line) > columns else line


def _kind_menu(catalog: Catalog) -> list[str]:
    """The kinds, numbered and grouped by task, as the interactive flow shows them; returns their order."""
    order = [name for task in TASKS for name in catalog.names(task)]
    width = max(map(len, order))
    number = 0
    for task in TASKS:
        if catalog.names(task):
            click.echo(f"{task}:")
        for name in catalog.names(task):
            number += 1
            click.echo(_fit(f"  {number:>2}. {name:<{width}}  {catalog.specs[name].summary}"))
    return order


def _values(spec: LossSpec, given: dict[str, Any], interactive: bool) -> dict[str, Any]:
    values = {}
    for name, param in spec.params.items():
        if given.get(name) is not None:
            values[name] = given[name]
        elif interactive:
            if param.help:  # what the parameter means, then the prompt with what is allowed
                click.echo(f"{name}: {param.help}")
            if param.type == "bool":
                values[name] = click.confirm(name, default=param.default)
            else:
                values[name] = click.prompt(f"{name} ({param.describe_allowed()})",
                                            default=_show_value(param, param.default), type=SpecParamType(param))
    try:
        return spec.bind(values)
    except ValueError as exc:
        raise OneLineError(str(exc)) from None


@cli.command(cls=KindCommand, kind_from="argument", context_settings={"ignore_unknown_options": False})
@click.argument("kind", shell_complete=complete_kind)
@click.option("--target", type=click.Choice(["python", "r", "numpy"]), default="python", show_default=True)
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Instead of the code, draw the loss and its gradient (with the Keras built-in the spec "
                   "names) into this PNG file. Needs matplotlib: pip install \"lossgen[plot]\".")
@catalog_option
@click.pass_context
@_catch
def show(ctx, kind, target, plot_path, catalogs, **given):
    """Print the loss code generated for KIND, without writing files (or draw it with --plot).

    Add the kind's parameters as options, e.g. `lossgen show huber --delta 2 --target r`.
    """
    spec = ctx.meta["lossgen.spec"]
    values = _values(spec, given, interactive=False)
    if plot_path is not None:
        _draw(spec, values, plot_path)
        return
    from scaffold.render import preview

    click.echo(preview(spec, values, target), nl=False)


def _draw(spec: LossSpec, values: dict[str, Any], path: Path) -> None:
    from scaffold import plot

    if plot.plot_missing():
        raise OneLineError(f"--plot: {plot.plot_missing()}")
    if spec.formula is None:
        raise OneLineError(f"--plot: {spec.name} is hand-written code ([code]) with no formula to draw")
    try:
        plot.draw(spec, values, path)
    except OSError as exc:
        raise OneLineError(f"--plot: cannot write {path}: {exc.strerror}") from None
    click.echo(f"Wrote {path}: {spec.title}, loss and gradient")


class CheckedText(click.ParamType):
    """Free text checked by an `about` validator: Click reports (and re-prompts) with its message."""

    def __init__(self, check, metavar: str):
        self.check, self.name = check, metavar.lower()

    def convert(self, value, option, ctx):
        try:
            return self.check(value)
        except ValueError as exc:
            self.fail(str(exc), option, ctx)


def _about(license_id: str | None, name: str | None, email: str | None, interactive: bool) -> about.About:
    """License and author: options first, then `git config`, asked for in a terminal."""
    found = about.git_author() if name is None or email is None else None
    name = name if name is not None else (found.name if found else None)
    email = email if email is not None else (found.email if found else "")
    if interactive:
        license_id = license_id or click.prompt("license", type=click.Choice(list(LICENSES), case_sensitive=False),
                                                default=DEFAULT_LICENSE)
        name = click.prompt("author", type=CheckedText(about.check_name, "NAME"), default=name)
        email = click.prompt("e-mail", type=CheckedText(about.check_email, "EMAIL"), default=email or "")
    authors = (about.Author(name, email or ""),) if name else ()
    return about.About(license_id or DEFAULT_LICENSE, authors)


def _ask_destination(spec: LossSpec, targets: list[str], output_dir: Path, force: bool) -> tuple[str, Path]:
    """Project name and output directory, re-asked until the destination can be written."""
    from scaffold import install
    from scaffold.names import Names

    while True:
        name = click.prompt("project name", default=spec.name).strip()
        output_dir = click.prompt("output directory", default=str(output_dir),
                                  type=click.Path(file_okay=False, path_type=Path))
        try:
            names = Names.derive(name)
            for target in targets:
                install.check_destination(*_place(output_dir, names, target, targets), allow_non_empty=force)
            return name, output_dir
        except UsageError as exc:
            click.echo(f"Error: {exc}", err=True)


def _remember_backend(ctx, param, value):
    """--backend, kept in ctx.meta for the test run (check.run_tests)."""
    ctx.meta["lossgen.backend"] = value
    return value


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty()


@cli.command(cls=KindCommand)
@click.option("--kind", shell_complete=complete_kind,
              help="The kind of loss (see `lossgen list`); prompted for when missing.")
@click.option("--target", type=click.Choice(TARGET_CHOICES), default=None,
              help="python (default), r, or both (a Python project and an R package).")
@click.option("--name", help="Project name; package, class and function names derive from it. [default: the kind]")
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Where the project directory is created.")
@click.option("--no-input", is_flag=True, help="Never prompt: use defaults for everything not given.")
@click.option("--force", is_flag=True,
              help="Write into an existing non-empty directory: files the project consists of are "
                   "overwritten; nothing else in it is removed.")
@click.option("--license", "license_id", type=click.Choice(list(LICENSES)), default=None,
              help=f"The project's license (SPDX id). [default: {DEFAULT_LICENSE}]")
@click.option("--author", type=CheckedText(about.check_name, "NAME"), default=None,
              help="Author (and R maintainer) name. [default: git config user.name]")
@click.option("--email", type=CheckedText(about.check_email, "EMAIL"), default=None,
              help="Author e-mail. [default: git config user.email]")
@click.option("--no-format", is_flag=True, help="Do not run black on the generated code.")
@click.option("--no-test", is_flag=True, help="Do not run the generated project's tests.")
@click.option("--backend", type=click.Choice(BACKENDS), default="tensorflow", show_default=True,
              expose_value=False, callback=_remember_backend,
              help="The Keras backend the generated Python tests run on here (the project runs on each).")
@catalog_option
@click.pass_context
@_catch
def new(ctx, kind, target, name, output_dir, no_input, force, license_id, author, email, no_format, no_test, catalogs,
        **given):
    """Generate a ready, tested project for one kind of loss.

    Each parameter of the kind is an option of its own: `lossgen new --kind huber --delta 2`.
    `lossgen new --kind KIND --help` lists them. Missing values are prompted for in a terminal;
    with --no-input (or no terminal) the spec's defaults are used.
    """
    interactive = _interactive(no_input)
    spec = ctx.meta["lossgen.spec"]
    if spec is None:
        catalog = open_catalog(catalogs)
        if not interactive:
            raise OneLineError(f"missing --kind (choose from: {', '.join(catalog.names())})")
        order = _kind_menu(catalog)
        spec = click.prompt("kind of loss (number or name)", type=KindType(catalog, order))
    if target is None:
        target = (click.prompt("target", type=click.Choice(TARGET_CHOICES, case_sensitive=False), default="python")
                  if interactive else "python")
    targets = list(TARGETS) if target == "both" else [target]
    if interactive and name is None:  # asked, and the destination checked, before the parameters
        name, output_dir = _ask_destination(spec, targets, output_dir, force)
    values = _values(spec, given, interactive)
    project_about = _about(license_id, author, email, interactive)
    # Answers the user gave (on the command line or at a prompt) stay; the others follow the spec's defaults.
    chosen = set(spec.params) if interactive else {n for n, v in given.items() if v is not None}
    _generate(ctx, spec, values, targets, output_dir, spec.name if name is None else name, force, no_format, no_test,
              chosen, project_about)


def _generate(ctx, spec: LossSpec, values: dict[str, Any], targets: list[str], output_dir: Path, name: str,
              force: bool, no_format: bool, no_test: bool, chosen: set[str], project_about: about.About) -> None:
    """Render each target (all destinations checked first), then run each project's tests."""
    from scaffold import install, render
    from scaffold.names import Names

    names = Names.derive(name)
    destinations = {target: install.check_destination(*_place(output_dir, names, target, targets),
                                                      allow_non_empty=force) for target in targets}
    projects = {}
    for target in targets:
        installed = render.render_project(spec, values, target, destinations[target], name=name, force=force,
                                          format_code=not no_format, given=chosen, about=project_about)
        projects[target] = installed.path
        click.echo(f"Generated {spec.name} ({target}) in {installed.path}")
        _report_install(installed)
    if no_test:
        click.echo("Tests not run (--no-test).")
        for target, project in projects.items():
            _usage_hint(project, target, names)
        return
    _test_and_report(ctx, projects, names)


def _place(output_dir: Path, names, target: str, targets: list[str]) -> tuple[Path, str]:
    """Where a target's project goes: `<dir>/huber-loss` (Python) or `<dir>/huberloss` (R) alone, and
    `<dir>/huber-loss/python` + `<dir>/huber-loss/r` for --target both (no near-twin siblings)."""
    if len(targets) > 1:
        return Path(output_dir) / names.slug, target
    return Path(output_dir), names.directory(target)


def _test_and_report(ctx, projects: dict[str, Path], names) -> None:
    """Run each project's tests (pytest or testthat), print the summary, exit 1 or 3 on failure."""
    from scaffold import check

    reports = {}
    for target, project in projects.items():
        click.echo(f"Running the generated {target} tests ...")
        reports[target] = check.run_tests(target, [project], echo=click.echo,
                                          backend=ctx.meta.get("lossgen.backend", "tensorflow"))[0]
    click.echo("")
    for target, project in projects.items():
        click.echo(f"{project}: {reports[target].summary()}")
        if reports[target].ok:  # how to use it, once it is known to work
            _usage_hint(project, target, names)
    if not all(report.ran for report in reports.values()):
        ctx.exit(EXIT_TESTS_NOT_RUN)
    if not all(report.ok for report in reports.values()):
        ctx.exit(EXIT_TESTS_FAILED)


def _report_install(installed) -> None:
    if installed.overwritten:
        click.echo(f"Overwrote (--force) files lossgen had not written or that were edited: "
                   f"{', '.join(installed.overwritten)}")
    if installed.removed:
        click.echo(f"Removed files the project no longer has (unchanged since lossgen wrote them): "
                   f"{', '.join(installed.removed)}")
    if installed.kept:
        click.echo(f"Kept files the project no longer has, because they were edited: {', '.join(installed.kept)}")
    for note in installed.notes:
        click.echo(f"Note: {note}")


def _update_options(fn):
    fn = click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")(fn)
    fn = click.option("--diff", "show_diff", is_flag=True, help="With --dry-run (or alone): print the unified diff.")(fn)
    fn = click.option("--force", is_flag=True,
                      help="Make every file lossgen writes exactly its new rendering (your edits to them are "
                           "overwritten; nothing else is touched).")(fn)
    fn = click.option("--no-format", is_flag=True, help="Do not run black on merged Python files.")(fn)
    fn = click.option("--no-test", is_flag=True, help="Do not run the project's tests afterwards.")(fn)
    return fn


def _say_update(plan) -> None:
    lines = plan.inputs.lines()
    click.echo(f"What changed since {plan.project} was generated:" if lines else
               f"The inputs of {plan.project} are unchanged (spec, parameters, lossgen).")
    for line in lines:
        click.echo(line)
    for note in plan.inputs.notes:
        click.echo(f"Note: {note}")
    if plan.changes:
        width = max(len(change.action) for change in plan.changes)
        click.echo("Files:")
        for change in plan.changes:
            click.echo(f"  {change.action:<{width}}  {change.path}")


def _run_update(ctx, project: Path, catalogs, given, dry_run, show_diff, force, no_format, no_test) -> None:
    from scaffold import update

    overrides = {name: value for name, value in given.items() if value is not None}
    # every project of a pair is planned before anything is written: a bad one stops both
    plans = [update.prepare(path, tuple(catalogs), overrides, force=force) for path in update.projects_in(project)]
    for plan in plans:
        _say_update(plan)
        if show_diff:
            click.echo("".join(update.diff(plan)), nl=False)
    if dry_run:
        click.echo("Dry run: nothing was written.")
        return
    changed, conflicts = {}, []
    for plan in plans:
        if plan.writes_nothing:
            click.echo(f"{plan.project}: up to date: nothing to change.")
            continue
        update.apply(plan, format_code=not no_format)
        written = sum(change.writes or change.action == "removed" for change in plan.changes)
        click.echo(f"Updated {plan.project}: {written} file(s) changed; the record now holds the current spec "
                   "and answers.")
        conflicts += [f"{plan.project / path}" for path in plan.conflicts]
        if written:
            changed[plan.record["target"]] = plan.project.resolve()
    if conflicts:
        click.echo(f"Conflicts in {', '.join(conflicts)}: resolve the <<<<<<< markers, then run the tests.")
        ctx.exit(EXIT_TESTS_FAILED)
    if no_test or not changed:
        click.echo("Tests not run." if no_test else "No file changed: tests not run.")
        return
    _test_and_report(ctx, changed, render_names(plans[0].record["name"]))


def render_names(name: str):
    from scaffold.names import Names

    return Names.derive(name)


@cli.command(cls=KindCommand, kind_from="record")
@click.argument("project", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
@_update_options
@catalog_option
@click.pass_context
@_catch
def update(ctx, project, dry_run, show_diff, force, no_format, no_test, catalogs, **given):
    """Bring PROJECT (default: .) up to date with its spec and lossgen, keeping your edits.

    The project as generated (rendered again from the record's copy of the spec) and as lossgen would
    generate it now are merged into your files, 3-way: files you did not touch follow, your edits
    that do not overlap a change are kept, overlapping ones get conflict markers (exit code 1).
    Files you deleted stay deleted; .git and files lossgen did not write are never touched.
    Change parameters on the way: `lossgen update --delta 3`.
    """
    _run_update(ctx, project, catalogs, given, dry_run, show_diff, force, no_format, no_test)


regenerate = copy.copy(update)  # update's former name, kept working for scripts
regenerate.name, regenerate.hidden = "regenerate", True
regenerate.help = "The former name of `lossgen update` (same options)."
cli.add_command(regenerate)


@cli.command("check")
@click.argument("projects", nargs=-1, type=click.Path(file_okay=False, path_type=Path))
@catalog_option
@_catch
def check_command(projects, catalogs):
    """Exit 0 if each PROJECT (default: .) is up to date with its spec and lossgen, 1 if an update is
    available (saying what changed), 2 if it is not a lossgen project. No TensorFlow: fit for CI."""
    from scaffold import update

    outdated = 0
    for project in [path for given in projects or (Path("."),) for path in update.projects_in(given)]:
        plan = update.prepare(project, tuple(catalogs))
        if plan.up_to_date:
            click.echo(f"{project}: up to date")
            continue
        outdated += 1
        click.echo(f"{project}: an update is available (lossgen update {project})")
        _say_update(plan)
    if outdated:
        raise click.exceptions.Exit(EXIT_TESTS_FAILED)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--quick", is_flag=True, help="Schema, formula and NumPy checks only (no TensorFlow start).")
@_catch
def validate(paths, quick):
    """Check spec files (or directories of them) the way lossgen checks its built-ins.

    Schema, formula, hand-computed examples (NumPy and the generated Keras code), agreement with
    the named Keras reference on random inputs, one value per sample, and finite values and
    gradients on the task's extreme inputs. One line per problem; exit code 1 if any.
    """
    from scaffold import validate as checks

    files = checks.collect(paths)
    problems = 0
    for path in files:
        _, found = checks.validate_file(path, quick)
        for problem in found:
            click.echo(str(problem))
        problems += len(found)
        if not found:
            click.echo(f"{path}: ok")
    click.echo(f"{len(files)} spec(s) checked{' (quick)' if quick else ''}, {problems} problem(s)")
    if problems:
        raise click.exceptions.Exit(EXIT_TESTS_FAILED)


@cli.command("spec")
@click.argument("name")
@click.option("--task", type=click.Choice(list(TASKS)), default="regression", show_default=True)
@click.option("--output-dir", "-o", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory to write NAME.toml into (your team catalog).")
@click.option("--force", is_flag=True, help="Overwrite an existing NAME.toml.")
@_catch
def spec_command(name, task, output_dir, force):
    """Write a commented starter spec NAME.toml for a new team loss."""
    from scaffold.starter import write_starter

    path = write_starter(name, task, output_dir, force)
    click.echo(f"Wrote {path}. Edit it, then: lossgen validate {path}")


def _usage_hint(project: Path, target: str, names) -> None:
    if target == "r":
        click.echo(f"Use it: R CMD INSTALL {project}, then in R: library({names.r_package}); "
                   f"model$compile(optimizer = \"adam\", loss = {names.r_function}())")
    else:
        click.echo(f"Use it: pip install -e {project}, then "
                   f"model.compile(optimizer=\"adam\", loss={names.package}.{names.class_name}())")


class Interrupted(BaseException):
    """SIGINT or SIGTERM: unwinds like KeyboardInterrupt, so `finally` blocks remove staging and stop
    the test child; a BaseException, so neither Click nor `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_on_interrupt() -> dict:
    """Make SIGINT and SIGTERM raise Interrupted (once: cleanup is not interrupted again)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    raised = []

    def handler(signum, frame):
        if not raised:
            raised.append(signum)
            raise Interrupted(signum)

    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def main(argv: list[str] | None = None) -> int:
    """Entry point: every error is one line on stderr, never a traceback (LOSSGEN_DEBUG=1 shows it).
    Interrupted (SIGINT, SIGTERM): "Interrupted", exit code 128 + signal number (130, 143)."""
    previous = _raise_on_interrupt()
    try:
        return _main(argv)
    except Interrupted as exc:
        click.echo("Interrupted", err=True)
        return 128 + exc.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# Click >= 8.2 raises this for a group called without a command (older Clicks print help and exit).
NoArgsIsHelp = getattr(click.exceptions, "NoArgsIsHelpError", type("NoArgsIsHelp", (Exception,), {}))


def _main(argv: list[str] | None) -> int:
    try:
        result = cli.main(args=argv, prog_name="lossgen", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except NoArgsIsHelp as exc:  # bare `lossgen`: the help is what was asked for
        click.echo(exc.ctx.get_help())
        return 0
    except click.ClickException as exc:
        click.echo(f"Error: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except Exception as exc:  # a bug in lossgen: still one line unless asked for the traceback
        if os.environ.get("LOSSGEN_DEBUG"):
            raise
        click.echo(f"Error: internal error: {type(exc).__name__}: {exc} (set LOSSGEN_DEBUG=1 for details)",
                   err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
