"""Composite specs: a weighted sum of other specs, inlined into one formula program.

A spec with `[[terms]]` (each: `kind`, `weight`, optional `params`) and no formula is composed when
its catalog is loaded: each part's formula IR is copied with its step names prefixed by the part's
kind (`binary_crossentropy_loss`, `dice_total`, ...), its parameters replaced by the values the term
fixes (or the part's defaults) or by the composite's own parameters it names, and a last statement
`loss = w1 * part1_loss + w2 * part2_loss` added. The result is an ordinary formula `Program`, so
every emitter (keras.ops, R, NumPy), every generated test, both targets and all backends work on it
unchanged. Nothing is evaluated: the IR is rewritten node by node.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from scaffold.domains import LOGIT_PARAMS
from scaffold.errors import SpecError
from scaffold.formula import (
    BOOL_SCALAR,
    FUNCTIONS,
    SCALAR,
    TENSOR,
    Assign,
    Binary,
    Call,
    Compare,
    Conditional,
    Expr,
    Name,
    Number,
    Program,
    String,
    Unary,
    check_values,
    param_kind,
)
from scaffold.spec import RESERVED_LOCALS, LossSpec, Param, Term, format_bound

Finder = Callable[[str], "LossSpec | None"]


def compose(spec: LossSpec, find: Finder, _stack: tuple[str, ...] = ()) -> LossSpec:
    """The composite `spec` with its formula inlined from its parts (found with `find`); a spec that
    is not a composite is returned as it is. SpecError at the term's line for every problem."""
    if not spec.terms or spec.formula is not None:
        return spec
    where = str(spec.path)
    stack = (*_stack, spec.name)
    prefixes = _prefixes(spec.terms)
    statements: list[Assign] = []
    parts: list[LossSpec] = []
    summands: list[Expr] = []
    for term, prefix in zip(spec.terms, prefixes):
        line = term.line or 1
        if term.kind in stack:
            cycle = " -> ".join((*stack[stack.index(term.kind) :], term.kind))
            raise SpecError(f"composite cycle: {cycle}", where, line, 1)
        part = find(term.kind)
        if part is None:
            raise SpecError(f"term kind {term.kind!r} is not in the catalog", where, line, 1)
        part = compose(part, find, stack)
        if part.formula is None:
            raise SpecError(
                f"term kind {term.kind!r} has hand-written [code], not a formula: only formulas can be inlined",
                where,
                line,
                1,
            )
        if part.task != spec.task:
            raise SpecError(
                f"term kind {term.kind!r} is a {part.task} loss; every part of this {spec.task} composite "
                f"must have task {spec.task!r}",
                where,
                line,
                1,
            )
        substitutions = _bindings(spec, term, part, where)
        renamer = _Rename(prefix, substitutions, line)
        for statement in part.formula.statements:
            statements.append(Assign(prefix + statement.target, renamer.expr(statement.value), line))
        parts.append(part)
        weight: Expr = (
            Name(term.weight, "param", kind=SCALAR, line=term.weight_line or line, col=1)
            if isinstance(term.weight, str)
            else Number(term.weight, kind=SCALAR, line=term.weight_line or line, col=1)
        )
        here = {"line": line, "col": 1}
        summands.append(Binary("*", weight, Name(prefix + "loss", "local", kind=TENSOR, **here), kind=TENSOR, **here))
    total = summands[0]
    for summand in summands[1:]:
        total = Binary("+", total, summand, kind=TENSOR, line=total.line, col=1)
    statements.append(Assign("loss", total, spec.lines.get("name", 1)))
    for statement in statements[:-1]:
        if statement.target in RESERVED_LOCALS or statement.target in spec.params:
            raise SpecError(
                f"step `{statement.target}` of the inlined term would shadow a name; rename the parameter",
                where,
                statement.line,
                1,
            )
    program = Program(tuple(statements), "")
    program = Program(program.statements, formula_source(program))
    check_values(program, {}, where)
    return dataclasses.replace(spec, formula=program, parts=tuple(parts))


def bound_parts(spec: LossSpec, values: dict[str, Any]) -> list[tuple[LossSpec, float, dict[str, Any]]]:
    """A composed composite's parts at the composite's parameter values: (part, weight, the part's
    parameter values), so tests can check the composite against each part computed on its own."""
    bound = []
    for term, part in zip(spec.terms, spec.parts):
        given = {name: (values[value] if how == "param" else value) for name, how, value in term.params}
        weight = values[term.weight] if isinstance(term.weight, str) else term.weight
        bound.append((part, float(weight), part.bind(given)))
    return bound


def _prefixes(terms: tuple[Term, ...]) -> list[str]:
    """`kind_`, or `kind2_` for the second term of a kind that appears twice."""
    kinds = [term.kind for term in terms]
    prefixes = []
    for index, kind in enumerate(kinds):
        prefixes.append(f"{kind}_" if kinds.count(kind) == 1 else f"{kind}{kinds[: index + 1].count(kind)}_")
    return prefixes


def _bindings(spec: LossSpec, term: Term, part: LossSpec, where: str) -> dict[str, Expr]:
    """What each of the part's parameters becomes: a constant, or one of the composite's parameters."""
    line = term.params_line or term.line or 1
    given = {name: (how, value) for name, how, value in term.params}
    unknown = sorted(set(given) - set(part.params))
    if unknown:
        raise SpecError(
            f"{part.name} has no parameter `{unknown[0]}` (its parameters: {', '.join(part.params) or 'none'})",
            where,
            line,
            1,
        )
    out: dict[str, Expr] = {}
    here = {"line": line, "col": 1}
    for name, param in part.params.items():
        how, value = given.get(name, ("value", param.default))
        if how == "param":
            _check_passthrough(spec.params[value], param, part.name, where, line)
            out[name] = Name(value, "param", kind=param_kind(param.type), **here)
            continue
        if name in LOGIT_PARAMS and value is not False:
            raise SpecError(
                f"{part.name}'s `{name}` changes what y_pred holds: bind it to this spec's own `{name}` "
                f'({{ param = "{name}" }}) or leave it false',
                where,
                line,
                1,
            )
        try:
            value = param.check(value)
        except ValueError as exc:
            raise SpecError(f"term {term.kind}: {exc}", where, line, 1) from None
        if param.type == "float_list":
            raise SpecError(
                f"{part.name}'s list parameter `{name}` cannot be fixed in a composite: bind it to a "
                f'float_list parameter of this spec ({{ param = "..." }})',
                where,
                line,
                1,
            )
        if param.type == "bool":
            out[name] = Compare(
                "==", Number(1, kind=SCALAR, **here), Number(int(value), kind=SCALAR, **here), kind=BOOL_SCALAR, **here
            )
        elif param.type == "choice":
            out[name] = String(value, kind="string", **here)
        else:
            out[name] = Number(value, kind=SCALAR, **here)
    return out


def _check_passthrough(own: Param, part: Param, kind: str, where: str, line: int) -> None:
    """The composite's parameter must be of the part's type and allow no value the part refuses."""

    def refuse(why: str) -> SpecError:
        return SpecError(f"parameter `{own.name}` passed to {kind}'s `{part.name}`: {why}", where, line, 1)

    if own.type != part.type:
        raise refuse(f"it is a {own.type}, {kind} takes a {part.type}")
    if own.type == "choice" and not set(own.choices) <= set(part.choices):
        raise refuse(f"its choices must be among {', '.join(part.choices)}")
    if own.type == "float_list" and own.min_length < part.min_length:
        raise refuse(f"min_length must be at least {part.min_length}")
    for op, bound in part.bounds:
        if not _implied(own.bounds, op, bound):
            raise refuse(f"declare a bound at least as strict as {kind}'s ({op} {format_bound(bound)})")


def _implied(bounds: list[tuple[str, float]], op: str, bound: float) -> bool:
    """Whether `bounds` (all of which a value meets) imply `value op bound`."""
    for own_op, value in bounds:
        strict_enough = op in (">=", "<=") or own_op in (">", "<")
        if op in (">", ">=") and own_op in (">", ">=") and (value > bound or (value == bound and strict_enough)):
            return True
        if op in ("<", "<=") and own_op in ("<", "<=") and (value < bound or (value == bound and strict_enough)):
            return True
    return False


class _Rename:
    """A part's IR with its locals prefixed and its parameters substituted; conditions on fixed
    bool and choice parameters resolved (only the branch taken is kept, as the emitters would)."""

    def __init__(self, prefix: str, substitutions: dict[str, Expr], line: int):
        self.prefix = prefix
        self.substitutions = substitutions
        self.line = line

    def expr(self, expr: Expr) -> Expr:
        here = {"line": self.line, "col": expr.col}
        if isinstance(expr, Name):
            if expr.role == "local":
                return Name(self.prefix + expr.name, "local", kind=expr.kind, **here)
            if expr.role == "param":
                return self.substitutions[expr.name]
            return dataclasses.replace(expr, **here)
        if isinstance(expr, (Number, String)):
            return dataclasses.replace(expr, **here)
        if isinstance(expr, Unary):
            return dataclasses.replace(expr, operand=self.expr(expr.operand), **here)
        if isinstance(expr, (Binary, Compare)):
            return dataclasses.replace(expr, left=self.expr(expr.left), right=self.expr(expr.right), **here)
        if isinstance(expr, Conditional):
            test = self.expr(expr.test)
            known = static_truth(test)
            if known is not None:
                return self.expr(expr.then if known else expr.orelse)
            return dataclasses.replace(
                expr, test=test, then=self.expr(expr.then), orelse=self.expr(expr.orelse), **here
            )
        if isinstance(expr, Call):
            return dataclasses.replace(expr, args=tuple(self.expr(a) for a in expr.args), **here)
        raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover


def static_truth(expr: Expr) -> bool | None:
    """The value of a condition made of constants only (a fixed bool or choice parameter), else None."""
    if (
        isinstance(expr, Compare)
        and isinstance(expr.left, (Number, String))
        and isinstance(expr.right, (Number, String))
    ):
        left, right = expr.left.value, expr.right.value
        ops: dict[str, Any] = {
            "==": left == right,
            "!=": left != right,
        }
        if expr.op in ops:
            return ops[expr.op]
        if isinstance(left, str) or isinstance(right, str):
            return None
        return {"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[expr.op]
    return None


# ---------------------------------------------------------------------------------------------
# The composed formula as text: what READMEs, docstrings and `lossgen show` print. Compiling it
# gives the same IR (tests/test_composite.py checks that).

_LEVEL = {"if": 1, "compare": 5, "+": 10, "-": 10, "*": 11, "/": 11, "unary": 12, "**": 13, "atom": 20}


def formula_source(program: Program) -> str:
    return "\n".join(f"{s.target} = {_text(s.value)[0]}" for s in program.statements) + "\n"


def _wrap(expr: Expr, minimum: int) -> str:
    text, level = _text(expr)
    return f"({text})" if level < minimum else text


def _text(expr: Expr) -> tuple[str, int]:
    if isinstance(expr, Number):
        text = repr(expr.value)
        return text, _LEVEL["unary"] if text.startswith("-") else _LEVEL["atom"]
    if isinstance(expr, String):
        return repr(expr.value), _LEVEL["atom"]
    if isinstance(expr, Name):
        return expr.name, _LEVEL["atom"]
    if isinstance(expr, Unary):
        return f"{expr.op}{_wrap(expr.operand, _LEVEL['unary'])}", _LEVEL["unary"]
    if isinstance(expr, (Binary, Compare)):
        level = _LEVEL["compare"] if isinstance(expr, Compare) else _LEVEL[expr.op]
        left_min, right_min = (level + 1, level) if expr.op == "**" else (level, level + 1)
        if isinstance(expr, Compare):
            left_min = right_min = level + 1
        return f"{_wrap(expr.left, left_min)} {expr.op} {_wrap(expr.right, right_min)}", level
    if isinstance(expr, Conditional):
        level = _LEVEL["if"]
        return f"{_wrap(expr.then, level + 1)} if {_wrap(expr.test, level + 1)} else {_wrap(expr.orelse, level)}", level
    if isinstance(expr, Call):
        args = [_text(a)[0] for a in expr.args]
        if FUNCTIONS[expr.function].axis and expr.axis is not None:
            args.append(f"axis={expr.axis}")
        if expr.keepdims:
            args.append("keepdims=True")
        return f"{expr.function}({', '.join(args)})", _LEVEL["atom"]
    raise TypeError(f"unknown IR node {expr!r}")  # pragma: no cover
