"""Composite specs ([[terms]]): inlined into one formula whose values are the weighted sum of the parts'."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import FORMULA_ONLY, generate

from scaffold import check, domains
from scaffold.catalog import load_catalog
from scaffold.composite import compose
from scaffold.emit import numpy as numpy_emit
from scaffold.errors import SpecError
from scaffold.formula import compile_formula

CATALOG = load_catalog()
BCE_DICE = CATALOG.get("bce_dice")


@pytest.mark.parametrize("params", [{}, {"label_smoothing": 0.3}])
def test_bce_dice_is_the_weighted_sum_of_its_parts(params):
    bce, dice = CATALOG.get("binary_crossentropy"), CATALOG.get("dice")
    values = BCE_DICE.bind(params)
    for seed in range(5):
        case = domains.sample(BCE_DICE, values, np.random.default_rng(seed), batch=32)
        got = numpy_emit.evaluate(BCE_DICE, case.y_true, case.y_pred, values)
        expected = 1.0 * numpy_emit.evaluate(bce, case.y_true, case.y_pred, params) + 1.0 * numpy_emit.evaluate(
            dice, case.y_true, case.y_pred
        )
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0)


def test_composed_formula_text_compiles_to_the_same_program():
    program = BCE_DICE.formula
    types = {name: p.type for name, p in BCE_DICE.params.items()}
    compiled = compile_formula(program.source, types).statements
    assert [(s.target, s.value) for s in compiled] == [(s.target, s.value) for s in program.statements]
    assert program.statements[-1].target == "loss"
    assert "binary_crossentropy_loss" in program.source and "dice_loss" in program.source


def test_bce_dice_is_listed_and_digest_covers_its_parts():
    from scaffold.record import spec_digest

    assert "bce_dice" in CATALOG.names(task="binary")
    assert [p.name for p in BCE_DICE.parts] == ["binary_crossentropy", "dice"]
    assert spec_digest(BCE_DICE) != spec_digest(CATALOG.get("dice"))


PART = """name = "{name}"
title = "t"
summary = "s"
task = "{task}"
formula = "loss = mean(square(y_pred - y_true) * scale, axis=-1)"

[params.scale]
type = "float"
default = 1.0
gt = 0.0

[params.log_input]
type = "bool"
default = false

[[examples]]
y_true = [[0.0]]
y_pred = [[2.0]]
loss = [4.0]
"""

COMPOSITE = """name = "combo"
title = "t"
summary = "s"
task = "regression"

[params.k]
type = "float"
default = 2.0
gt = 0.0

[[terms]]
kind = "{kind}"
weight = {weight}
params = {params}

[[terms]]
kind = "mse"
weight = 0.5

[[examples]]
y_true = [[0.0]]
y_pred = [[2.0]]
loss = [{loss}]
"""


def catalog_dir(tmp_path: Path, **composite) -> Path:
    (tmp_path / "part.toml").write_text(PART.format(name="part", task="regression"))
    (tmp_path / "other.toml").write_text(PART.format(name="other", task="binary"))
    fields = {"kind": "part", "weight": "1.0", "params": '{ scale = { param = "k" } }', "loss": "10.0"}
    (tmp_path / "combo.toml").write_text(COMPOSITE.format(**{**fields, **composite}))
    return tmp_path


def test_team_composite_binds_its_own_parameter(tmp_path):
    combo = load_catalog((str(catalog_dir(tmp_path)),)).get("combo")
    # k = 2: 1.0 * (4 * 2) + 0.5 * 4 = 10, the example; k = 3: 12 + 2 = 14
    assert numpy_emit.evaluate(combo, [[0.0]], [[2.0]]).tolist() == [10.0]
    assert numpy_emit.evaluate(combo, [[0.0]], [[2.0]], {"k": 3.0}).tolist() == [14.0]


@pytest.mark.parametrize(
    "composite, line, fragment",
    [
        ({"kind": "nosuch"}, 11, "term kind 'nosuch' is not in the catalog"),
        ({"kind": "other", "params": "{}"}, 11, "term kind 'other' is a binary loss"),
        ({"kind": "combo", "params": "{}"}, 11, "composite cycle: combo -> combo"),
        ({"weight": "-1.0"}, 13, "`weight` must be a finite number >= 0"),
        ({"weight": '"heavy"'}, 13, "`weight` must be a finite number >= 0"),
        ({"params": '{ scale = { param = "nope" } }'}, 14, "not a parameter of this spec"),
        ({"params": "{ shift = 1.0 }"}, 14, "part has no parameter `shift`"),
        ({"params": "{ scale = -1.0 }"}, 14, "scale must be a number > 0"),
        ({"params": "{ log_input = true }"}, 14, "changes what y_pred holds"),
    ],
)
def test_composite_errors_are_located(tmp_path, composite, line, fragment):
    directory = catalog_dir(tmp_path, **composite)
    with pytest.raises(SpecError) as caught:
        load_catalog((str(directory),))
    assert caught.value.where.startswith(f"{directory / 'combo.toml'}:{line}:"), str(caught.value)
    assert fragment in caught.value.message


def test_part_with_hand_written_code_is_refused(tmp_path):
    team = Path(__file__).parent / "data" / "team"
    code_part = next(p for p in team.glob("*.toml") if "[code]" in p.read_text())
    (tmp_path / code_part.name).write_text(code_part.read_text())
    task = next(line for line in code_part.read_text().splitlines() if line.startswith("task"))
    text = COMPOSITE.format(kind=code_part.stem, weight="1.0", params="{}", loss="1.0").replace(
        'task = "regression"', task
    )
    (tmp_path / "combo.toml").write_text(text)
    with pytest.raises(SpecError, match="has hand-written \\[code\\], not a formula"):
        load_catalog((str(tmp_path),))


def test_formula_and_terms_together_are_refused(tmp_path):
    directory = catalog_dir(tmp_path)
    text = (
        (directory / "combo.toml")
        .read_text()
        .replace('task = "regression"\n', 'task = "regression"\nformula = "loss = y_pred"\n')
    )
    (directory / "combo.toml").write_text(text)
    with pytest.raises(SpecError, match="a composite spec \\(\\[\\[terms\\]\\]\\) has no `formula`"):
        load_catalog((str(directory),))


def test_compose_leaves_ordinary_specs_alone():
    huber = CATALOG.get("huber")
    assert compose(huber, CATALOG.specs.get) is huber


@pytest.mark.e2e
def test_generated_bce_dice_project_formula_tests_pass(tmp_path):
    generate(tmp_path, "--kind", "bce_dice", "--target", "python")
    (project,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    (report,) = check.run_python_tests([project], backend="tensorflow", markers={project: FORMULA_ONLY})
    assert report.ok, report.summary() + "\n" + "\n".join(report.output[-60:])
    assert report.passed > 0 and report.skipped == 0
