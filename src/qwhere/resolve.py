"""Make a server-path tree concrete before it is compiled or evaluated.

Both targets (the LoopBack compiler and the Python predicate) start from the
tree this module returns, so they can only disagree about atoms, never about
the meaning of a date or a relative time:

* relative times are resolved against one ``now``;
* naive datetimes are local time and every datetime becomes aware UTC
  (converted, not relabelled);
* a *date* names a whole local day: ``created == 2024-01-05`` is the interval
  ``[start of the day, start of the next day)``, ``created <= 2024-01-05``
  includes that whole day, ``between d1 and d2`` includes both days;
* membership over dates becomes a disjunction of equalities (LoopBack's ``inq``
  never matches a date).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from .errors import ArgumentError, FilterValueError, QwhereError
from .schema import FieldType, Schema
from .tree import (
    And,
    Between,
    Compare,
    Exists,
    Expr,
    FieldPath,
    In,
    Match,
    Not,
    Or,
    Quantified,
    ServerClause,
    Test,
    all_of,
    any_of,
    derived,
)
from .values import Scalar, day_start, resolve, to_utc

__all__ = ["Types", "prepare", "to_nnf", "to_server"]

Types = Mapping[FieldPath, FieldType]


def to_server(
    expr: Expr | str, schema: Schema | None, types: Types | None
) -> tuple[Expr, dict[FieldPath, FieldType]]:
    """(tree on server paths, server path types) for user input with an optional schema."""
    from .parser import check_schema, parse

    check_schema(schema)
    if types is not None and not isinstance(types, Mapping):
        raise ArgumentError(f"types must be a mapping of field paths to FieldType, not {types!r}")
    if isinstance(expr, str):
        expr = parse(expr, schema)
    if not isinstance(expr, Expr):
        raise ArgumentError(f"expected a filter (text or tree), not {type(expr).__name__}")
    merged: dict[FieldPath, FieldType] = {}
    if schema is not None:
        expr = schema.lower(expr)
        merged.update(schema.server_types())
    merged.update(types or {})
    return expr, merged


def _instant(value: Scalar, now: datetime | None) -> Scalar:
    value = resolve(value, now)
    if isinstance(value, datetime):
        return to_utc(value)
    return value


def _is_day(value: Scalar) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _day(value: Scalar) -> tuple[datetime, datetime]:
    assert isinstance(value, date)
    return day_start(value), day_start(value + timedelta(days=1))


def _compare(path: FieldPath, op: str, value: Scalar) -> Expr:
    if not _is_day(value):
        return Compare(path, op, value)  # type: ignore[arg-type]
    start, end = _day(value)
    if op == "==":
        return And((Compare(path, ">=", start), Compare(path, "<", end)))
    if op == "!=":
        return Not(And((Compare(path, ">=", start), Compare(path, "<", end))))
    return {
        ">": Compare(path, ">=", end),
        ">=": Compare(path, ">=", start),
        "<": Compare(path, "<", start),
        "<=": Compare(path, "<", end),
    }[op]


def prepare(expr: Expr, types: Types | None = None, now: datetime | None = None) -> Expr:
    """Resolve times and dates in ``expr`` (a tree on server paths)."""
    if now is not None and not isinstance(now, datetime):
        raise ArgumentError(f"now must be a datetime or None, not {now!r}")
    with derived():  # a date becomes an interval: the tree may nest a level or two deeper
        try:
            return _prepare(expr, types or {}, now)
        except QwhereError:
            raise
        except (OverflowError, ValueError):
            raise FilterValueError(
                f"a date in the filter, resolved against now={now}, is out of range"
            ) from None


def _prepare(expr: Expr, types: Types, now: datetime | None) -> Expr:

    def walk(node: Expr) -> Expr:
        if isinstance(node, And):
            return And(tuple(walk(op) for op in node.operands))
        if isinstance(node, Or):
            return Or(tuple(walk(op) for op in node.operands))
        if isinstance(node, Not):
            return Not(walk(node.operand))
        if isinstance(node, Test | Match | Exists | ServerClause):
            return node
        if isinstance(node, Compare):
            return _compare(node.field, node.op, _instant(node.value, now))
        if isinstance(node, Between):
            low, high = _instant(node.low, now), _instant(node.high, now)
            if not (_is_day(low) or _is_day(high)):
                return Between(node.field, low, high)
            lower = Compare(node.field, ">=", _day(low)[0] if _is_day(low) else low)
            upper = (
                Compare(node.field, "<", _day(high)[1])
                if _is_day(high)
                else Compare(node.field, "<=", high)
            )
            return And((lower, upper))
        if isinstance(node, In):
            values = tuple(_instant(v, now) for v in node.values)
            dated = types.get(node.field) is FieldType.DATETIME or any(
                isinstance(v, date) for v in values
            )
            if dated and values:
                return any_of(*(_compare(node.field, "==", v) for v in values))
            return In(node.field, values)
        if isinstance(node, Quantified):
            return Quantified(
                node.field, node.quantifier, tuple(_instant(v, now) for v in node.values)
            )
        raise TypeError(f"cannot prepare {node!r}")  # pragma: no cover

    return walk(expr)


def to_nnf(expr: Expr) -> Expr:
    """Push every ``not`` down to the conditions (De Morgan); ``not not x`` is ``x``."""
    with derived():
        return _nnf(expr)


def _nnf(expr: Expr) -> Expr:
    if isinstance(expr, And):
        return And(tuple(_nnf(op) for op in expr.operands))
    if isinstance(expr, Or):
        return Or(tuple(_nnf(op) for op in expr.operands))
    if not isinstance(expr, Not):
        return expr
    inner = expr.operand
    if isinstance(inner, Not):
        return _nnf(inner.operand)
    if isinstance(inner, And):
        return any_of(*(_nnf(Not(op)) for op in inner.operands)) if inner.operands else Or(())
    if isinstance(inner, Or):
        return all_of(*(_nnf(Not(op)) for op in inner.operands)) if inner.operands else And(())
    return expr
