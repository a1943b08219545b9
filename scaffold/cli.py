"""The `lossgen` command: parsing, prompting and printing only; the work happens in the modules below.

Exit codes: 0 success, 1 generated tests failed, 2 bad input (usage or spec errors),
3 the project was generated but its tests could not run (e.g. R is not installed).
"""

from __future__ import annotations

import copy
import functools
import os
import shlex
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from scaffold import __version__, about
from scaffold.about import DEFAULT_LICENSE, LICENSES
from scaffold.catalog import Catalog, load_catalog
from scaffold.errors import LossgenError, SpecError, UsageError
from scaffold.record import TARGETS
from scaffold.sinks import terminal_text
from scaffold.tasks import TASKS

if TYPE_CHECKING:
    from scaffold.spec import LossSpec, Param

TARGET_CHOICES = (*TARGETS, "both")
BACKENDS = ("tensorflow", "jax", "torch")  # Keras backends the generated Python tests run on
EXIT_TESTS_FAILED, EXIT_USAGE, EXIT_TESTS_NOT_RUN = 1, 2, 3
LIBRARY_NAME = "losses"  # the project name of a package of several losses when --name is not given


def echo(message: str = "", err: bool = False, nl: bool = True, multiline: bool = True) -> None:
    """Every line lossgen prints: text from specs, records and paths is escaped for the terminal.
    multiline=False for a one-line message: a newline in a name or path in it is shown as \\n."""
    click.echo(terminal_text(str(message), multiline=multiline), err=err, nl=nl)


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


class YesNo(click.types.BoolParamType):
    """A yes/no answer; anything else is re-asked with what is allowed (Click's confirm says only
    "invalid input")."""

    name = "yes/no"

    def convert(self, value, option, ctx):
        try:
            return super().convert(value, option, ctx)
        except click.BadParameter:
            self.fail(
                f"{value!r} is not a yes/no answer: answer y or n (yes, no, true, false, 1, 0 also work)", option, ctx
            )


class KindType(click.ParamType):
    """A kind from the catalog; a typo gets the closest name suggested and the prompt repeats."""

    name = "kind"

    def __init__(self, catalog: Catalog, numbered: list[str] | None = None):
        self.catalog = catalog
        self.numbered = numbered or []  # menu order: "3" picks the third kind shown

    def convert(self, value, option, ctx):
        from scaffold.spec import LossSpec

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
    return [
        CompletionItem(name, help=catalog.specs[name].summary)
        for name in catalog.names()
        if name.startswith(incomplete)
    ]


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
            options.append(
                click.Option(
                    [option_name(p), p.name],
                    type=SpecParamType(p),
                    default=None,
                    metavar=p.type.upper(),
                    help=help_text,
                )
            )
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


VALUE_OPTIONS = (
    "--target",
    "--catalog",
    "--loss",
    "--kind",
    "--name",
    "--output-dir",
    "-o",
    "--task",
    "--license",
    "--author",
    "--email",
    "--backend",
)  # lossgen's own options that take a value
FLAG_OPTIONS = ("--dry-run", "--diff", "--force", "--no-format", "--no-test", "--no-input", "--all")


def _recorded(args: list[str]) -> tuple[Path, list]:
    """`update`'s PROJECT among its arguments (before Click parses them: the kind's options depend on
    it), and its record's losses. A value of an option is never taken for PROJECT: the arguments that
    follow lossgen's own value options are skipped, and one that follows a kind's option (which takes
    a value, unless it is a --no-/boolean flag) is PROJECT only if it holds a record."""
    from scaffold import project as projects
    from scaffold.record import read_record

    loose, after_kind_option = [], []
    previous = None
    for arg in args:
        if arg == "--":
            break
        if previous in VALUE_OPTIONS:
            previous = None
            continue
        if arg.startswith("-"):
            previous = arg if "=" not in arg else None
            continue
        (after_kind_option if previous is not None and previous not in FLAG_OPTIONS else loose).append(arg)
        previous = None
    candidates = (
        loose[:1]
        or [
            a
            for a in after_kind_option
            if any(os.path.lexists(p / ".lossgen.toml") for p in (Path(a), Path(a) / "python"))
        ][:1]
    )
    path = Path(candidates[0]) if candidates else Path(".")
    try:
        project = projects.projects_in(path)[0]
    except LossgenError:
        return path, []  # no project there: the command itself says so
    try:
        return project, read_record(project).losses
    except LossgenError as exc:  # a record it cannot read: say why, not that `--delta` is unknown
        raise OneLineError(str(exc)) from None


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
        if self.kind_from == "record":  # `update [PROJECT] [--loss NAME] --delta 3`: the record names the kind
            project, entries = _recorded(args)
            chosen = _peek(args, "--loss")
            entry = (
                next((e for e in entries if e.name == chosen[-1]), None)
                if chosen
                else (entries[0] if len(entries) == 1 else None)
            )
            if entry is None:
                return None  # the command itself reports what is wrong with the project
            from scaffold import project as projects

            try:
                with projects.Root(project) as root:
                    found = projects.Project(project, root)
                    return projects.find_spec(found, entry, tuple(catalogs))
            except LossgenError:
                return None
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
        own = [p for p in self.get_params(ctx) if p not in self.params[len(self.base_params) :]]
        rows = [record for p in own if (record := p.get_help_record(ctx))]
        with formatter.section("Options"):
            formatter.write_dl(rows)
        kind_rows = [record for p in self.params[len(self.base_params) :] if (record := p.get_help_record(ctx))]
        if spec is not None:
            with formatter.section(f"Parameters of {spec.name} ({spec.title})"):
                formatter.write_dl(kind_rows or [("(none)", "this kind has no parameters")])
        for kind, _ in ctx.meta.get("lossgen.kinds", []):
            with formatter.section(f"Parameters of {kind.name} ({kind.title}), after its --kind"):
                formatter.write_dl(
                    [record for p in spec_options(kind) if (record := p.get_help_record(ctx))]
                    or [("(none)", "this kind has no parameters")]
                )

    def parse_args(self, ctx, args):
        self.params = list(self.base_params)
        ctx.meta["lossgen.kinds"] = []
        if self.kind_from == "--kind" and len(_peek(args, "--kind")) > 1:
            # several kinds: each kind's options are taken from the arguments that follow its --kind
            args, kinds = self.kind_groups(ctx, args)
            ctx.meta["lossgen.kinds"] = kinds
            ctx.meta["lossgen.spec"] = None
            return super().parse_args(ctx, args)
        spec = self.spec_in(args)
        if spec is not None:
            self.params += spec_options(spec)
        ctx.meta["lossgen.spec"] = spec
        given = list(args)  # Click's parser consumes `args`
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as exc:
            if spec is None and self.kind_from == "record":
                losses = [entry.name for entry in _recorded(given)[1]]
                chosen = _peek(given, "--loss")
                if chosen and losses and chosen[-1] not in losses:
                    raise click.UsageError(
                        f"{exc.option_name}: the package has no loss named {chosen[-1]!r} "
                        f"(its losses: {', '.join(losses)})",
                        ctx,
                    ) from None
                if not chosen and len(losses) > 1:  # the parameters are those of one loss: which?
                    raise click.UsageError(
                        f"{exc.option_name}: the package holds {len(losses)} losses "
                        f"({', '.join(losses)}); say which one the parameters are for with "
                        "--loss NAME",
                        ctx,
                    ) from None
            if spec is None:
                raise
            valid = ", ".join(option_name(p) for p in spec.params.values())
            raise click.UsageError(
                f"no such option {exc.option_name} for kind '{spec.name}' (its parameters: {valid or 'none'})", ctx
            ) from None

    def kind_groups(self, ctx, args: list[str]) -> tuple[list[str], list[tuple[LossSpec, dict[str, Any]]]]:
        """The arguments without the kinds' own options, and each kind with the values of the options
        that follow its --kind (converted and checked as Click would)."""
        catalog = open_catalog(_peek(args, "--catalog"))
        options = [p for p in self.base_params if isinstance(p, click.Option)]
        takes_value = {o for p in options if not p.is_flag and not p.count for o in p.opts + p.secondary_opts}
        known = {o for p in options for o in p.opts + p.secondary_opts} | {"--help", "-h"}
        rest: list[str] = []
        kinds: list[tuple[LossSpec, dict[str, Any]]] = []
        i = 0
        while i < len(args):
            arg = args[i]
            flag, eq, inline = arg.partition("=")
            if arg == "--":
                rest += args[i:]
                break
            if flag == "--kind" and (eq or i + 1 < len(args)):
                name = inline if eq else args[i + 1]
                try:
                    kinds.append((catalog.get(name), {}))
                except UsageError as exc:
                    raise OneLineError(str(exc)) from None
                rest += args[i : i + (1 if eq else 2)]
                i += 1 if eq else 2
                continue
            if kinds and flag.startswith("--") and flag not in known:
                spec, values = kinds[-1]
                param = _spec_param(spec, flag)
                if param is None:
                    valid = ", ".join(option_name(p) for p in spec.params.values())
                    raise click.UsageError(
                        f"no such option {flag} for kind '{spec.name}' (its parameters: "
                        f"{valid or 'none'}); each kind's options follow its --kind",
                        ctx,
                    )
                if param.type == "bool":
                    values[param.name] = not flag.startswith("--no-")
                    i += 1
                    continue
                if not eq and i + 1 >= len(args):
                    raise click.UsageError(f"option {flag} of kind '{spec.name}' needs a value", ctx)
                option = click.Option([flag], type=SpecParamType(param))
                values[param.name] = option.type.convert(inline if eq else args[i + 1], option, ctx)
                i += 1 if eq else 2
                continue
            take = 2 if flag in takes_value and not eq else 1
            rest += args[i : i + take]
            i += take
        return rest, kinds


def _spec_param(spec: LossSpec, flag: str) -> Param | None:
    """The parameter of `spec` an option names: --delta, --from-logits or --no-from-logits."""
    for p in spec.params.values():
        name = option_name(p)
        if flag == name or (p.type == "bool" and flag == "--no-" + name[2:]):
            return p
    return None


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


catalog_option = click.option(
    "--catalog",
    "catalogs",
    multiple=True,
    metavar="DIR",
    help="A team catalog directory of spec files (repeatable; searched first).",
)


@cli.command("list")
@click.option("--task", type=click.Choice(list(TASKS)), help="Only kinds for this task.")
@catalog_option
@_catch
def list_kinds(task, catalogs):
    """List the kinds of loss with one-line summaries."""
    catalog = open_catalog(catalogs)
    names = catalog.names(task)
    if not names:
        echo(f"no kinds for task {task}")
        return
    width = max(map(len, names))
    task_width = max(len(catalog.specs[n].task) for n in names)
    for name in names:
        spec = catalog.specs[name]
        origin = "" if spec.origin == "built-in" else f"  [{spec.origin}: {spec.path}]"
        echo(_fit(f"{name:<{width}}  {spec.task:<{task_width}}  {spec.summary}") + origin, multiline=False)


def _fit(line: str) -> str:
    """In a terminal, a line is cut to fit its width; piped output keeps it whole."""
    columns = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
    return line[: columns - 1] + "…" if columns and len(line) > columns else line


def _kind_menu(catalog: Catalog) -> list[str]:
    """The kinds, numbered and grouped by task, as the interactive flow shows them; returns their order."""
    order = [name for task in TASKS for name in catalog.names(task)]
    width = max(map(len, order))
    number = 0
    for task in TASKS:
        if catalog.names(task):
            echo(f"{task}:")
        for name in catalog.names(task):
            number += 1
            echo(_fit(f"  {number:>2}. {name:<{width}}  {catalog.specs[name].summary}"))
    return order


def _values(spec: LossSpec, given: dict[str, Any], interactive: bool) -> dict[str, Any]:
    values = {}
    for name, param in spec.params.items():
        if given.get(name) is not None:
            values[name] = given[name]
        elif interactive:
            if param.help:  # what the parameter means, then the prompt with what is allowed
                echo(f"{name}: {param.help}")
            if param.type == "bool":
                values[name] = click.prompt(
                    f"{name} [{'Y/n' if param.default else 'y/N'}]",
                    type=YesNo(),
                    default="yes" if param.default else "no",
                    show_default=False,
                )
            else:
                values[name] = click.prompt(
                    f"{name} ({param.describe_allowed()})",
                    default=_show_value(param, param.default),
                    type=SpecParamType(param),
                )
    try:
        return spec.bind(values)
    except ValueError as exc:
        raise OneLineError(str(exc)) from None


@cli.command(cls=KindCommand, kind_from="argument", context_settings={"ignore_unknown_options": False})
@click.argument("kind", shell_complete=complete_kind)
@click.option("--target", type=click.Choice(["python", "r", "numpy"]), default="python", show_default=True)
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Instead of the code, draw the loss and its gradient (with the Keras built-in the spec "
    'names) into this PNG file. Needs matplotlib: pip install "lossgen[plot]".',
)
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

    echo(preview(spec, values, target), nl=False)


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
    echo(f"Wrote {path}: {spec.title}, loss and gradient")


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
        license_id = license_id or click.prompt(
            "license", type=click.Choice(list(LICENSES), case_sensitive=False), default=DEFAULT_LICENSE
        )
        name = click.prompt("author", type=CheckedText(about.check_name, "NAME"), default=name)
        email = click.prompt("e-mail", type=CheckedText(about.check_email, "EMAIL"), default=email or "")
    authors = (about.Author(name, email or ""),) if name else ()
    return about.About(license_id or DEFAULT_LICENSE, authors)


class ProjectName(click.ParamType):
    """A project name, checked when given: its package names, and (one loss) its loss's names."""

    name = "name"

    def __init__(self, members: list | None = None):
        self.members = members or []  # the one loss whose names derive from the project name

    def convert(self, value, option, ctx):
        from dataclasses import replace

        from scaffold import library
        from scaffold.names import Names

        value = value.strip()
        try:
            Names.derive(value)
            library.checked([replace(member, name=value) for member in self.members])
        except UsageError as exc:
            self.fail(str(exc), option, ctx)
        return value


def _ask_destination(
    default: str, targets: list[str], output_dir: Path, force: bool, members: list
) -> tuple[str, Path]:
    """Project name (checked when given) and output directory; both re-asked while the destination
    they make cannot be written (a non-empty directory, a file in the way)."""
    from scaffold import workspace
    from scaffold.names import Names

    while True:
        name = click.prompt("project name", default=default, type=ProjectName(members))
        output_dir = click.prompt(
            "output directory", default=str(output_dir), type=click.Path(file_okay=False, path_type=Path)
        )
        try:
            names = Names.derive(name)
            for target in targets:
                workspace.check_destination(*_place(output_dir, names, target, targets), allow_non_empty=force)
            return name, output_dir
        except UsageError as exc:
            echo(f"Error: {exc}", err=True)
            default = name


def _remember_backend(ctx, param, value):
    """--backend, kept in ctx.meta for the test run (check.run_tests)."""
    ctx.meta["lossgen.backend"] = value
    return value


def _interactive(no_input: bool) -> bool:
    return not no_input and sys.stdin.isatty()


@cli.command(cls=KindCommand)
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    shell_complete=complete_kind,
    help="The kind of loss (see `lossgen list`); prompted for when missing. Repeat it for a package "
    "of several losses: each kind's options follow its --kind.",
)
@click.option(
    "--all",
    "all_kinds",
    is_flag=True,
    help="A package of every kind: of the --catalog directories if given, else every kind `lossgen "
    "list` shows (with --task: of that task), each with its spec's defaults.",
)
@click.option("--task", type=click.Choice(list(TASKS)), default=None, help="With --all: only kinds for this task.")
@click.option(
    "--target",
    type=click.Choice(TARGET_CHOICES),
    default=None,
    help="python (default), r, or both (a Python project and an R package).",
)
@click.option(
    "--name",
    help="Project name; package names derive from it (and, for one loss, the class and function "
    f"names). [default: the kind; for several: {LIBRARY_NAME}]",
)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where the project directory is created.",
)
@click.option("--no-input", is_flag=True, help="Never prompt: use defaults for everything not given.")
@click.option(
    "--force",
    is_flag=True,
    help="Write into an existing non-empty directory: files the project consists of are "
    "overwritten; nothing else in it is removed.",
)
@click.option(
    "--license",
    "license_id",
    type=click.Choice(list(LICENSES)),
    default=None,
    help=f"The project's license (SPDX id). [default: {DEFAULT_LICENSE}]",
)
@click.option(
    "--author",
    type=CheckedText(about.check_name, "NAME"),
    default=None,
    help="Author (and R maintainer) name. [default: git config user.name]",
)
@click.option(
    "--email",
    type=CheckedText(about.check_email, "EMAIL"),
    default=None,
    help="Author e-mail. [default: git config user.email]",
)
@click.option("--no-format", is_flag=True, help="Do not run black on the generated code.")
@click.option("--no-test", is_flag=True, help="Do not run the generated project's tests.")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="tensorflow",
    show_default=True,
    expose_value=False,
    callback=_remember_backend,
    help="The Keras backend the generated Python tests run on here (the project runs on each).",
)
@catalog_option
@click.pass_context
@_catch
def new(
    ctx,
    kinds,
    all_kinds,
    task,
    target,
    name,
    output_dir,
    no_input,
    force,
    license_id,
    author,
    email,
    no_format,
    no_test,
    catalogs,
    **given,
):
    """Generate a ready, tested package of one loss or several.

    Each parameter of a kind is an option of its own: `lossgen new --kind huber --delta 2`.
    `lossgen new --kind KIND --help` lists them. Several kinds make one package, each kind's options
    after its --kind: `lossgen new --kind huber --delta 2 --kind mse --name teamlosses`.
    Missing values are prompted for in a terminal; with --no-input (or no terminal) the spec's
    defaults are used.
    """
    from dataclasses import replace

    # In a terminal, the questions come in this order, each answer checked when given: the kind, its
    # parameters, the target, then where (project name, output directory) and who (license, author, e-mail).
    interactive = _interactive(no_input)
    members = _members(ctx, kinds, all_kinds, task, catalogs, given, interactive)
    asks = interactive and not all_kinds  # --all takes each spec's defaults: no thirty rounds of questions
    members = [_bound(member, asks, member.spec.name, say_kind=len(members) > 1) for member in members]
    if target is None:
        target = (
            click.prompt("target", type=click.Choice(TARGET_CHOICES, case_sensitive=False), default="python")
            if interactive
            else "python"
        )
    targets = list(TARGETS) if target == "both" else [target]
    one_kind = len(members) == 1 and not all_kinds  # its names derive from --name, as they always did
    default_name = members[0].spec.name if one_kind else LIBRARY_NAME
    if interactive and name is None:
        name, output_dir = _ask_destination(default_name, targets, output_dir, force, members if one_kind else [])
    name = default_name if name is None else name
    if one_kind:
        members = [replace(members[0], name=name)]
    project_about = _about(license_id, author, email, interactive)
    _generate(ctx, members, targets, output_dir, name, force, no_format, no_test, project_about)


def _members(ctx, kinds, all_kinds, task, catalogs, given, interactive: bool) -> list:
    """The chosen kinds with the values given for them (not yet bound: prompts come later)."""
    from scaffold.library import Member

    if all_kinds:
        if kinds:
            raise OneLineError("--all and --kind exclude each other: --all takes every kind of the catalog")
        catalog = open_catalog(catalogs)
        names = [n for n in catalog.names(task) if not catalogs or catalog.specs[n].origin == "--catalog"]
        if not names:
            where = f"the catalog {', '.join(catalogs)}" if catalogs else "the catalog"
            raise OneLineError(f"--all: {where} has no kind{f' for task {task}' if task else ''}")
        return [Member(catalog.get(n), {}, n) for n in names]
    if task is not None:
        raise OneLineError("--task goes with --all (it chooses the kinds --all takes)")
    if ctx.meta.get("lossgen.kinds"):
        return [Member(spec, values, spec.name, frozenset(values)) for spec, values in ctx.meta["lossgen.kinds"]]
    spec = ctx.meta["lossgen.spec"]
    if spec is None:
        catalog = open_catalog(catalogs)
        if not interactive:
            raise OneLineError(f"missing --kind (choose from: {', '.join(catalog.names())})")
        order = _kind_menu(catalog)
        spec = click.prompt("kind of loss (number or name)", type=KindType(catalog, order))
        given = {}
    chosen = {n: v for n, v in given.items() if v is not None}
    return [Member(spec, chosen, spec.name, frozenset(chosen))]


def _bound(member, interactive: bool, name: str, say_kind: bool = False):
    """The member with every parameter's value (prompted for in a terminal) and its loss name.
    Answers the user gave (on the command line or at a prompt) stay; the others follow the spec's defaults."""
    from scaffold.library import Member

    if interactive and say_kind and set(member.spec.params) - set(member.values):
        echo(f"Parameters of {member.spec.name} ({member.spec.title}):")
    values = _values(member.spec, member.values, interactive)
    given = frozenset(member.spec.params) if interactive else member.given
    return Member(member.spec, values, name, given)


def _generate(
    ctx,
    members: list,
    targets: list[str],
    output_dir: Path,
    name: str,
    force: bool,
    no_format: bool,
    no_test: bool,
    project_about: about.About,
) -> None:
    """Render each target (all destinations checked first), then run each project's tests."""
    from scaffold import api, library, workspace
    from scaffold.names import Names

    names = Names.derive(name)
    library.checked(members)
    destinations = {
        target: workspace.check_destination(*_place(output_dir, names, target, targets), allow_non_empty=force)
        for target in targets
    }
    result = api.new(
        members, targets, destinations, name, project_about, force=force, format_code=not no_format, say=echo
    )
    what = ", ".join(member.spec.name for member in members)
    projects = {}
    for run in result.runs:
        projects[run.generation.target] = run.path
        echo(f"Generated {what} ({run.generation.target}) in {run.path}", multiline=False)
        _report_new(run)
    if no_test:
        echo("Tests not run (--no-test).")
        for target, project in projects.items():
            _usage_hint(project, target, names, members)
        return
    _test_and_report(ctx, projects, names, members)


def _place(output_dir: Path, names, target: str, targets: list[str]) -> tuple[Path, str]:
    """Where a target's project goes: `<dir>/huber-loss` (Python) or `<dir>/huberloss` (R) alone, and
    `<dir>/huber-loss/python` + `<dir>/huber-loss/r` for --target both (no near-twin siblings)."""
    if len(targets) > 1:
        return Path(output_dir) / names.slug, target
    return Path(output_dir), names.directory(target)


def _test_and_report(ctx, projects: dict[str, Path], names, members: list) -> None:
    """Run each project's tests (pytest or testthat), print the summary, exit 1 or 3 on failure."""
    from scaffold import check

    reports = {}
    for target, project in projects.items():
        echo(f"Running the generated {target} tests ...")
        try:
            reports[target] = check.run_tests(
                target, [project], echo=click.echo, backend=ctx.meta.get("lossgen.backend", "tensorflow")
            )[0]
        except Interrupted as exc:  # the project is in place and complete; only its tests did not finish
            exc.note = "; ".join(_untested(path, t) for t, path in projects.items() if t not in reports)
            raise
    echo("")
    for target, project in projects.items():
        echo(f"{project}: {reports[target].summary()}")
        if reports[target].ok:  # how to use it, once it is known to work
            _usage_hint(project, target, names, members)
    if not all(report.ran for report in reports.values()):
        ctx.exit(EXIT_TESTS_NOT_RUN)
    if not all(report.ok for report in reports.values()):
        ctx.exit(EXIT_TESTS_FAILED)


def _untested(project: Path, target: str) -> str:
    """What an interrupt during the tests leaves: a complete project, and how to run its tests."""
    from scaffold.targets import TARGETS_BY_NAME

    return (
        f"{project} was written and is complete, but its tests did not finish; run them with: "
        f"cd {shlex.quote(str(project))} && {TARGETS_BY_NAME[target].test_command}"
    )


def _report_new(run) -> None:
    """What `new` did to files already there (with --force into an existing project)."""
    from scaffold import merge

    if run.fresh:
        return
    by_action: dict[str, list[str]] = {}
    for change in run.changes:
        by_action.setdefault(change.action, []).append(change.path)
    if by_action.get(merge.UPDATE):
        echo(
            f"Overwrote (--force) files lossgen had written, with their new rendering: "
            f"{', '.join(by_action[merge.UPDATE])}"
        )
    if by_action.get(merge.REMOVE):
        echo(
            f"Removed files the project no longer has (unchanged since lossgen wrote them): "
            f"{', '.join(by_action[merge.REMOVE])}"
        )
    if by_action.get(merge.KEEP_EDITED):
        echo(
            f"Kept files the project no longer has, because they were edited: {', '.join(by_action[merge.KEEP_EDITED])}"
        )
    for note in run.notes:
        echo(f"Note: {note}")


def _update_options(fn):
    fn = click.option("--dry-run", is_flag=True, help="Say what would change; write nothing.")(fn)
    fn = click.option("--diff", "show_diff", is_flag=True, help="With --dry-run (or alone): print the unified diff.")(
        fn
    )
    fn = click.option(
        "--force",
        is_flag=True,
        help="Make every file lossgen writes exactly its new rendering (your edits to them are "
        "overwritten; nothing else is touched).",
    )(fn)
    fn = click.option("--no-format", is_flag=True, help="Do not run black on merged Python files.")(fn)
    fn = click.option("--no-test", is_flag=True, help="Do not run the project's tests afterwards.")(fn)
    return fn


def _say_update(run) -> None:
    from scaffold import merge

    lines = run.lines()
    echo(
        f"What changed since {run.path} was generated:"
        if lines
        else f"The inputs of {run.path} are unchanged (specs, parameters, lossgen)."
    )
    for line in lines:
        echo(line)
    for note in run.notes:
        echo(f"Note: {note}")
    if run.changes:
        width = max(len(change.action) for change in run.changes)
        echo("Files:")
        for change in run.changes:
            echo(f"  {change.action:<{width}}  {change.path}")
    for blocked in run.plan.kept_blocked:
        echo(f"  kept (not reachable through real directories)  {blocked}")
    if any(change.action == merge.KEEP_UNMERGEABLE for change in run.changes):
        echo(
            "Note: lossgen's templates changed since it wrote the files kept above, and you edited them: "
            "what it wrote then is not in the project's last commits, so there is no base to merge against "
            "(commit generated files before editing them, and upgrades merge). Compare with "
            f"`lossgen update {run.path} --force --dry-run --diff`; --force takes lossgen's."
        )


def _run_update(
    ctx,
    project: Path,
    catalogs,
    given,
    dry_run,
    show_diff,
    force,
    no_format,
    no_test,
    loss: str | None = None,
    add: list = (),
    remove: tuple[str, ...] = (),
) -> None:
    from scaffold import api

    overrides = {name: value for name, value in given.items() if value is not None}
    result = api.update(
        project,
        tuple(catalogs),
        overrides,
        loss=loss,
        force=force,
        format_code=not no_format,
        dry_run=dry_run,
        add=add,
        remove=remove,
        say=echo,
    )
    for run in result.runs:
        _say_update(run)
        if show_diff:
            echo("".join(run.diff()), nl=False)
    if dry_run:
        echo("Dry run: nothing was written.")
        return
    changed = {}
    for run in result.runs:
        if not result.written or run.writes_nothing:
            echo(f"{run.path}: up to date: nothing to change.")
            continue
        written = len(run.plan.touched)
        echo(f"Updated {run.path}: {written} file(s) changed; the record now holds the current specs and answers.")
        if written:
            changed[run.generation.target] = run.path.resolve()
    if result.conflicts:
        where = (
            "git lists them as unmerged: resolve with `git mergetool` or your editor, then `git add`"
            if result.git_conflicts
            else "resolve the <<<<<<< markers"
        )
        echo(f"Conflicts in {', '.join(map(str, result.conflicts))}: {where}, then run the tests.")
        ctx.exit(EXIT_TESTS_FAILED)
    if no_test or not changed:
        echo("Tests not run." if no_test else "No file changed: tests not run.")
        return
    first = result.runs[0]
    _test_and_report(ctx, changed, render_names(first.generation.name), list(first.generation.members))


def render_names(name: str):
    from scaffold.names import Names

    return Names.derive(name)


project_argument = click.argument(
    "project", required=False, default=".", type=click.Path(file_okay=False, path_type=Path)
)


@cli.command(cls=KindCommand, kind_from="record")
@project_argument
@click.option(
    "--loss",
    "loss",
    metavar="NAME",
    default=None,
    help="In a package of several losses: the loss whose parameters the options change.",
)
@_update_options
@catalog_option
@click.pass_context
@_catch
def update(ctx, project, loss, dry_run, show_diff, force, no_format, no_test, catalogs, **given):
    """Bring PROJECT (default: .) up to date with its specs and lossgen, keeping your edits.

    The project as generated (rendered again from the record's copies of the specs) and as lossgen
    would generate it now are merged into your files, 3-way: files you did not touch follow, your
    edits that do not overlap a change are kept, overlapping ones get conflict markers (exit code 1).
    Files you deleted stay deleted; .git and files lossgen did not write are never touched.
    Change parameters on the way: `lossgen update --delta 3` (with `--loss NAME` in a package of
    several losses).
    """
    _run_update(ctx, project, catalogs, given, dry_run, show_diff, force, no_format, no_test, loss=loss)


@cli.command(cls=KindCommand)
@project_argument
@click.option(
    "--kind",
    "kinds",
    multiple=True,
    required=True,
    shell_complete=complete_kind,
    help="The kind of loss to add (repeatable: each kind's options follow its --kind).",
)
@click.option(
    "--name",
    "loss_name",
    default=None,
    help="The added loss's name; its module, class and functions derive from it. [default: the kind]",
)
@_update_options
@catalog_option
@click.pass_context
@_catch
def add(ctx, project, kinds, loss_name, dry_run, show_diff, force, no_format, no_test, catalogs, **given):
    """Add a loss to the package PROJECT (default: .; both of a --target both pair), keeping your edits.

    `lossgen add teamlosses --kind binary_focal --gamma 3`. The package is re-rendered with the loss
    added and merged into your files as `lossgen update` does: your edits to other files are kept.
    """
    from scaffold.library import Member

    if ctx.meta.get("lossgen.kinds"):
        if loss_name is not None:
            raise OneLineError("--name names one added loss: add several kinds under their own names")
        members = [
            _bound(Member(spec, values, spec.name, frozenset(values)), False, spec.name)
            for spec, values in ctx.meta["lossgen.kinds"]
        ]
    else:
        spec = ctx.meta["lossgen.spec"]
        chosen = {n: v for n, v in given.items() if v is not None}
        members = [_bound(Member(spec, chosen, spec.name, frozenset(chosen)), False, loss_name or spec.name)]
    _run_update(ctx, project, catalogs, {}, dry_run, show_diff, force, no_format, no_test, add=members)


@cli.command()
@project_argument
@click.option(
    "--loss",
    "losses",
    metavar="NAME",
    multiple=True,
    required=True,
    help="The loss to remove, by its name (`.lossgen.toml` lists them; repeatable).",
)
@_update_options
@catalog_option
@click.pass_context
@_catch
def remove(ctx, project, losses, dry_run, show_diff, force, no_format, no_test, catalogs):
    """Remove a loss from the package PROJECT (default: .), keeping your edits.

    Its files go if you did not edit them (an edited one is kept and said so); the package's shared
    files (README, __init__.py, train script, NAMESPACE) are merged as `lossgen update` does.
    """
    _run_update(ctx, project, catalogs, {}, dry_run, show_diff, force, no_format, no_test, remove=tuple(losses))


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
    from scaffold import api

    outdated = 0
    for given in projects or (Path("."),):
        for result in api.check(given, tuple(catalogs)):
            if result.up_to_date:
                echo(f"{result.path}: up to date")
                continue
            outdated += 1
            echo(f"{result.path}: {result.reason}")
            if result.run is not None:
                _say_update(result.run)
                refusal = result.run.plan.refusal(str(result.path))
                if refusal:
                    echo(f"`lossgen update` would stop here: {refusal}", multiline=False)
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
            echo(str(problem), multiline=False)  # one line per problem, whatever the file name holds
        problems += len(found)
        if not found:
            echo(f"{path}: ok", multiline=False)
    echo(f"{len(files)} spec(s) checked{' (quick)' if quick else ''}, {problems} problem(s)")
    if problems:
        raise click.exceptions.Exit(EXIT_TESTS_FAILED)


@cli.command("spec")
@click.argument("name")
@click.option("--task", type=click.Choice(list(TASKS)), default="regression", show_default=True)
@click.option(
    "--output-dir",
    "-o",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Directory to write NAME.toml into (your team catalog).",
)
@click.option("--force", is_flag=True, help="Overwrite an existing NAME.toml.")
@_catch
def spec_command(name, task, output_dir, force):
    """Write a commented starter spec NAME.toml for a new team loss."""
    from scaffold.starter import write_starter

    path = write_starter(name, task, output_dir, force)
    echo(f"Wrote {path}. Edit it, then: lossgen validate {path}", multiline=False)


@cli.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("target")
@click.option("--task", type=click.Choice(list(TASKS)), required=True, help="The input contract the loss is for.")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A parameter of the loss (its class's constructor, or the function's keyword); repeatable.",
)
@click.option("--backend", type=click.Choice(BACKENDS), default="tensorflow", show_default=True)
@click.option(
    "--against",
    metavar="KIND|keras.losses.NAME",
    default=None,
    help="Compare values with a built-in kind (its parameters as options: --delta 2) or a Keras loss.",
)
@click.option("--only", metavar="ID,...", default=None, help="Run only these checks.")
@click.option("--skip", metavar="ID,...", default=None, help="Do not run these checks.")
@click.option("--batch-coupled", is_flag=True, help="The loss uses the whole batch on purpose: skip batch_independent.")
@click.option(
    "--from-logits",
    is_flag=True,
    default=None,
    help="y_pred are logits (binary, categorical tasks); default: the loss's own from_logits, if any.",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report as JSON.",
)
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the report as JUnit XML (for CI).",
)
@catalog_option
@click.pass_context
@_catch
def audit(
    ctx, target, task, params, backend, against, only, skip, batch_coupled, from_logits, json_path, junit_path, catalogs
):
    """Run lossgen's test battery on an existing loss: TARGET is package.module:name, file.py:name or
    file.R:name (through reticulate): a loss function, a loss factory, a keras.losses.Loss subclass
    (built with --param values) or an instance.

    One line per check (see docs/audit.md). Exit code 0 if no check fails, 1 if one does, 2 for bad usage.
    """
    from scaffold.audit import report as reports
    from scaffold.audit.reference import parse_params, resolve

    if ctx.args and against is None:
        raise UsageError(f"unexpected argument(s) {' '.join(ctx.args)} (options after --against are its parameters)")
    against_spec = resolve(against, list(ctx.args), tuple(catalogs)) if against else None
    from scaffold.audit import ids, run

    report = run(
        target,
        task,
        parse_params(params),
        backend=backend,
        against=against_spec,
        only=ids(only),
        skip=ids(skip),
        batch_coupled=batch_coupled,
        from_logits=from_logits or None,
        on_start=lambda r: echo(r.header()),
        on_result=lambda result: echo(reports.line(result)),
    )
    echo(report.summary())
    if json_path is not None:
        report.write_json(json_path)
    if junit_path is not None:
        report.write_junit(junit_path)
    if report.exit_code:
        raise click.exceptions.Exit(report.exit_code)


def _usage_hint(project: Path, target: str, names, members: list) -> None:
    from scaffold.targets import TARGETS_BY_NAME

    echo(TARGETS_BY_NAME[target].usage(project, names, members), multiline=False)


class Interrupted(BaseException):
    """SIGINT or SIGTERM: unwinds like KeyboardInterrupt, so `finally` blocks remove staging and stop
    the test child; a BaseException, so neither Click nor `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum
        self.note = ""  # what the interrupt left, when that is more than nothing


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
        echo(f"Interrupted: {exc.note}" if exc.note else "Interrupted", err=True, multiline=False)
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
        echo(exc.ctx.get_help())
        return 0
    except click.ClickException as exc:
        click.echo(f"Error: {terminal_text(exc.format_message(), multiline=False)}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        echo("Aborted.", err=True)
        return 130
    except Exception as exc:  # a bug in lossgen: still one line unless asked for the traceback
        if os.environ.get("LOSSGEN_DEBUG"):
            raise
        echo(
            f"Error: internal error: {type(exc).__name__}: {_one_line(str(exc))} (set LOSSGEN_DEBUG=1 for details)",
            err=True,
        )
        return 1


def _one_line(text: str, limit: int = 300) -> str:
    """An exception's message as one line of at most `limit` characters (some carry a whole context)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


if __name__ == "__main__":
    sys.exit(main())
