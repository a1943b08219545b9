"""Spec text is data: hostile strings through every string field of a spec, both targets.

Each hostile string goes into every field that can carry text (title, summary, description,
parameter help, a choice value, a formula comment and a formula string constant), in a team spec of
its own. Every project is generated for Python and R, then: each .py parses and compiles, each .R
file parses with R's parse(), each Rd file with tools::parse_Rd, DESCRIPTION with read.dcf, every
TOML file loads, and the marker file the payloads try to create never appears. The generated test
suites run for a sample of the specs (all the payloads together in one process per language).
Characters no sink can carry are refused when the spec loads, at their file:line:col.
"""

from __future__ import annotations

import ast
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import tomli_w

from scaffold import check, cli
from scaffold.errors import SpecError
from scaffold.spec import load_spec
from tests.helpers import FORMULA_ONLY, FULL_MATRIX

MARKER = "LOSSGEN_PWNED"
PY_PAYLOAD = f"__import__('pathlib').Path('{MARKER}').touch()"
R_PAYLOAD = f'file.create("{MARKER}")'
HOSTILE = [
    '"',
    "'",
    '"""',
    "'''",
    '\\"',
    "\\",
    "\\\\",
    "\\n",
    "\\u0041",
    "\\N{BULLET}",
    '"\\',
    "{",
    "}",
    "{}",
    "{{ 7*7 }}",
    "{% raw %}",
    "{# c #}",
    "{0}",
    "{mode}",
    "{{ cycler.__init__.__globals__.os.system('touch " + MARKER + "') }}",
    "%",
    "%s",
    "100%",
    "\\%",
    "%>%",
    f'x") or {PY_PAYLOAD} or ("',
    f"x') or {PY_PAYLOAD} or ('",
    f"{{{PY_PAYLOAD}}}",
    f'"""; {PY_PAYLOAD}; """',
    f'"); {R_PAYLOAD}; ("',
    f"'); {R_PAYLOAD}; ('",
    f"`r {R_PAYLOAD}`",
    f"$(touch {MARKER})",
    f"`touch {MARKER}`",
    f"'; touch {MARKER}; '",
    "\\link{x}",
    "\\code{",
    "}\\",
    "\\dontrun{",
    "@param x",
    "@export",
    "@@",
    "#' @examples",
    "# comment",
    "<script>alert(1)</script>",
    "</details>",
    "[x](javascript:alert(1))",
    "```",
    "`",
    "| a | b |",
    "*_~",
    "]]",
    "[[examples]]",
    "# heading",
    "- item",
    "1. item",
    "😀",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "e\u0301",
    "日本語",
    "\u200d",
    "\xa0",
]


def spec_data(index: int, text: str) -> dict:
    """A regression spec whose every text field carries `text`; values stay hand-checkable."""
    return {
        "name": f"hostile_{index}",
        "title": f"Hostile {text}",
        "summary": f"Summary {text}",
        "description": f"First line {text}\n{text}\n  {text} indented\n@{text}\n",
        "task": "regression",
        "formula": (
            f"# {text}\n"
            f"error = y_pred - y_true  # {text}\n"
            f"scale = 2.0 if mode == {text!r} else 1.0\n"
            "loss = mean(scale * square(error), axis=-1)\n"
        ),
        "params": {"mode": {"type": "choice", "default": "plain", "choices": ["plain", text], "help": f"Help {text}"}},
        "examples": [
            {"y_true": [[0.0, 1.0]], "y_pred": [[1.0, 3.0]], "loss": [2.5]},
            {"params": {"mode": text}, "y_true": [[0.0]], "y_pred": [[1.0]], "loss": [2.0]},
        ],
    }


def write_catalog(root: Path) -> Path:
    team = root / "team {{ 7*7 }} 'q' \"dq\" ü"
    team.mkdir(parents=True)
    for index, text in enumerate(HOSTILE):
        (team / f"hostile_{index}.toml").write_text(tomli_w.dumps(spec_data(index, text)), encoding="utf-8")
    return team


def test_every_hostile_string_loads_and_keeps_its_text(tmp_path):
    team = write_catalog(tmp_path)
    for index, text in enumerate(HOSTILE):
        spec = load_spec(team / f"hostile_{index}.toml")
        assert spec.title == f"Hostile {text}".strip()
        assert spec.params["mode"].choices == ("plain", text)


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", "a\x00b"),
        ("summary", "bell\x07"),
        ("description", "esc \x1b[31m red"),
        ("title", "rtl \u202e override"),
        ("title", "two\nlines"),
        ("summary", "tab\there"),
        ("choice", "a\nb"),
        ("help", "del \x7f"),
        ("formula", "# \x00\nloss = mean(y_pred, axis=-1)"),
    ],
)
def test_characters_no_sink_can_carry_are_refused_at_their_line(tmp_path, field, value):
    data = spec_data(0, "x")
    if field == "choice":
        data["params"]["mode"]["choices"][1] = value
    elif field == "help":
        data["params"]["mode"]["help"] = value
    else:
        data[field] = value
    path = tmp_path / "hostile_0.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    error = caught.value
    assert error.line is not None and error.col is not None, str(error)
    key = {"choice": "choices", "help": "help"}.get(field, field)
    assert path.read_text(encoding="utf-8").splitlines()[error.line - 1].lstrip().startswith(key), str(error)


# ---------------------------------------------------------------------------------------------
# End to end: generate everything once, then check each file by its own language's parser.


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    team = write_catalog(root)
    out = root / "out"
    projects = {}
    for index in range(len(HOSTILE)):
        code = cli.main(
            [
                "new",
                "--catalog",
                str(team),
                "--kind",
                f"hostile_{index}",
                "--target",
                "both",
                "--no-input",
                "--no-test",
                "-o",
                str(out),
            ]
        )
        assert code == 0, (index, HOSTILE[index])
        projects[index] = (out / f"hostile-{index}-loss" / "python", out / f"hostile-{index}-loss" / "r")
    return root, projects


@pytest.mark.e2e
def test_generated_python_parses_and_compiles(generated):
    _, projects = generated
    files = [f for python, _ in projects.values() for f in python.rglob("*.py")]
    assert len(files) >= 10 * len(HOSTILE)
    for path in files:
        source = path.read_text(encoding="utf-8")
        compile(ast.parse(source, filename=str(path)), str(path), "exec")


@pytest.mark.e2e
def test_generated_toml_loads_and_keeps_the_text(generated):
    _, projects = generated
    for index, (python, r_package) in projects.items():
        for path in [*python.rglob("*.toml"), *r_package.rglob("*.toml")]:
            tomllib.loads(path.read_text(encoding="utf-8"))
        description = tomllib.loads((python / "pyproject.toml").read_text(encoding="utf-8"))["project"]["description"]
        assert description == f"Summary {HOSTILE[index]}".strip()


R_CHECK = r"""
args <- commandArgs(trailingOnly = TRUE)
bad <- 0L
for (path in args) {
  problem <- tryCatch({
    if (grepl("\\.R$", path)) parse(path, keep.source = FALSE)
    else if (grepl("\\.Rd$", path)) tools::checkRd(tools::parse_Rd(path))
    else read.dcf(path)
    NULL
  }, error = function(e) conditionMessage(e), warning = function(w) conditionMessage(w))
  if (!is.null(problem)) { cat("BAD", path, ":", problem, "\n"); bad <- bad + 1L }
}
cat("checked", length(args), "files,", bad, "bad\n")
"""


@pytest.mark.e2e
def test_generated_r_parses(generated, r_available):
    root, projects = generated
    files = [
        str(f)
        for _, r_package in projects.values()
        for f in [*r_package.rglob("*.R"), *r_package.rglob("*.Rd"), r_package / "DESCRIPTION"]
    ]
    script = root / "check.R"
    script.write_text(R_CHECK, encoding="utf-8")
    result = subprocess.run(["Rscript", str(script), *files], capture_output=True, text=True)
    assert result.returncode == 0 and f"checked {len(files)} files, 0 bad" in result.stdout, (
        result.stdout[-3000:] + result.stderr[-2000:]
    )


@pytest.mark.e2e
def test_generated_markdown_keeps_code_blocks_closed(generated):
    _, projects = generated
    for python, r_package in projects.values():
        for readme in (python / "README.md", r_package / "README.md"):
            lines = readme.read_text(encoding="utf-8").splitlines()
            fence = re.match(r"`+", next(line for line in lines if line.startswith("```"))).group()
            fences = [line for line in lines if re.fullmatch(re.escape(fence) + r"[a-z]*", line)]
            assert len(fences) % 2 == 0, readme
            inner = [line for line in lines if line not in fences]
            assert all(len(run) < len(fence) for line in inner for run in re.findall(r"`+", line)), readme
            prose, in_code = [], False
            for line in lines:
                if line in fences:
                    in_code = not in_code
                elif not in_code:
                    prose.append(line)
            assert "<script>" not in "\n".join(prose), readme  # raw HTML only ever inside code blocks


SAMPLE = [
    HOSTILE.index(s)
    for s in (
        '"""',
        "\\",
        "{{ 7*7 }}",
        f'x") or {PY_PAYLOAD} or ("',
        f'"); {R_PAYLOAD}; ("',
        "\\link{x}",
        "%",
        "```",
        "😀",
    )
]


@pytest.mark.e2e
def test_generated_python_tests_pass_on_hostile_text(generated):
    _, projects = generated
    # the formula tests: hostile text reaches the loss's docstrings and the tests' data, not Keras' fit or save
    sample = [projects[i][0] for i in SAMPLE]
    reports = check.run_python_tests(sample, markers={} if FULL_MATRIX else dict.fromkeys(sample, FORMULA_ONLY))
    for index, report in zip(SAMPLE, reports):
        assert report.ok and report.skipped == 0, (HOSTILE[index], report.summary(), report.output[-40:])


@pytest.mark.e2e
def test_generated_r_tests_pass_on_hostile_text(generated, r_available):
    _, projects = generated
    reports = check.run_r_tests([projects[i][1] for i in SAMPLE])
    for index, report in zip(SAMPLE, reports):
        assert report.ok and report.skipped == 0, (HOSTILE[index], report.summary(), report.output[-40:])


@pytest.mark.e2e
def test_no_payload_ever_ran(generated):
    root, _ = generated
    assert not list(root.rglob(MARKER)) and not Path(MARKER).exists() and not (Path.cwd() / MARKER).exists()
