"""Schemas: user-facing field names and aliases -> server paths and types.

A schema validates a tree (unknown fields, values of the wrong type, unknown
enum values) and normalises it: aliases become the field's name, enum values
their canonical spelling. Trees keep the *user's* names; the server paths and
enum expansions are applied when a plan or predicate is built.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime

import attrs

from .errors import ArgumentError, FilterTypeError, FilterValueError, UnknownFieldError, suggest
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
    any_of,
    derived,
)
from .values import RelativeTime, Scalar

__all__ = ["FieldSpec", "FieldType", "Schema"]


class FieldType(enum.Enum):
    STRING = "string"
    NUMBER = "number"
    BOOL = "bool"
    DATETIME = "datetime"
    STRING_LIST = "list of strings"
    ENUM = "enum"


_TYPE_WORDS = {
    FieldType.STRING: "a string",
    FieldType.NUMBER: "a number",
    FieldType.BOOL: "true or false",
    FieldType.DATETIME: "a date or time (2024-01-31, 2024-01-31T12:00Z, now - 7d, today)",
    FieldType.STRING_LIST: "a string",
    FieldType.ENUM: "one of the allowed values",
}


_KIND = {
    FieldType.STRING: "a string field",
    FieldType.NUMBER: "a number field",
    FieldType.BOOL: "a true/false field",
    FieldType.DATETIME: "a date field",
    FieldType.STRING_LIST: "a list field",
    FieldType.ENUM: "an enum field",
}


_UNORDERED = (FieldType.BOOL, FieldType.STRING_LIST, FieldType.ENUM)


def _value_fits(kind: FieldType, value: Scalar) -> bool:
    if kind is FieldType.NUMBER:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is FieldType.BOOL:
        return isinstance(value, bool)
    if kind is FieldType.DATETIME:
        return isinstance(value, date | datetime | RelativeTime)
    return isinstance(value, str)  # STRING, STRING_LIST, ENUM


@attrs.frozen
class FieldSpec:
    """One field: its name, the server path it lives at, its type and aliases.

    For ``ENUM`` fields, ``values`` lists the allowed values (matched
    case-insensitively) and ``expand`` maps each to the server values it stands for.
    """

    name: str
    path: FieldPath
    type: FieldType
    aliases: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    expand: Callable[[str], tuple[tuple[str, ...], str | None]] | None = attrs.field(
        default=None, eq=False
    )
    description: str = ""


@attrs.frozen(eq=False)
class Schema:
    """A named set of fields. ``lookup`` resolves a name or alias (case-insensitively)."""

    name: str
    fields: tuple[FieldSpec, ...]
    _by_name: Mapping[str, FieldSpec] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        table: dict[str, FieldSpec] = {}
        for spec in self.fields:
            for name in (spec.name, *spec.aliases):
                key = name.lower()
                if key in table:
                    raise ArgumentError(f"schema {self.name}: {name!r} is defined twice")
                table[key] = spec
        object.__setattr__(self, "_by_name", table)

    def __hash__(self) -> int:
        return id(self)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for spec in self.fields for n in (spec.name, *spec.aliases))

    def lookup(self, path: FieldPath) -> FieldSpec:
        spec = self._by_name.get(".".join(path).lower())
        if spec is None:
            raise UnknownFieldError(
                ".".join(path),
                [s.name for s in self.fields] + [a for s in self.fields for a in s.aliases],
            )
        return spec

    def get(self, path: FieldPath) -> FieldSpec | None:
        return self._by_name.get(".".join(path).lower())

    def server_types(self) -> dict[FieldPath, FieldType]:
        """The type of every server path this schema knows (enums are stored as strings)."""
        return {
            spec.path: FieldType.STRING if spec.type is FieldType.ENUM else spec.type
            for spec in self.fields
        }

    # -- user names -> server paths -----------------------------------------------------------

    def lower(self, expr: Expr) -> Expr:
        """Validate ``expr``, then rewrite it onto server paths with enum values expanded.

        ``status == DONE`` becomes ``status in [COMPLETED]``; ``created`` becomes
        ``creationDate``. The result is what :func:`qwhere.plan` compiles.
        """
        with derived():  # statuses expand: the result may nest a level or two deeper
            return self._lower(self.bind(expr))

    def _lower(self, expr: Expr) -> Expr:
        if isinstance(expr, And):
            return And(tuple(self._lower(op) for op in expr.operands))
        if isinstance(expr, Or):
            return Or(tuple(self._lower(op) for op in expr.operands))
        if isinstance(expr, Not):
            return Not(self._lower(expr.operand))
        if isinstance(expr, Test | ServerClause):
            return expr
        spec = self.lookup(expr.field)  # type: ignore[attr-defined]
        path = spec.path
        if spec.type is FieldType.ENUM and spec.expand is not None:
            if isinstance(expr, Compare) and expr.value is not None:
                assert isinstance(expr.value, str)
                same = self._expand(path, spec, [expr.value])
                return same if expr.op == "==" else Not(same)
            if isinstance(expr, In):
                named = [v for v in expr.values if isinstance(v, str)]
                parts = [self._expand(path, spec, named)] if named else []
                if len(named) != len(expr.values):  # null among the values
                    parts.append(Compare(path, "==", None))
                return any_of(*parts) if parts else In(path, ())
        return attrs.evolve(expr, field=path)  # type: ignore[misc]

    @staticmethod
    def _expand(path: FieldPath, spec: FieldSpec, values: Iterable[str]) -> Expr:
        assert spec.expand is not None
        exact: list[str] = []
        prefixes: list[str] = []
        for value in values:
            more, prefix = spec.expand(value)
            exact.extend(v for v in more if v not in exact)
            if prefix is not None and prefix not in prefixes:
                prefixes.append(prefix)
        # a prefix covers the exact values it starts
        exact = [v for v in exact if not any(v.startswith(p) for p in prefixes)]
        parts: list[Expr] = []
        if exact:
            parts.append(Compare(path, "==", exact[0]) if len(exact) == 1 else In(path, exact))
        parts.extend(Match(path, "^" + re.escape(p)) for p in prefixes)
        return any_of(*parts)

    # -- validation / normalisation ---------------------------------------------------------

    def bind(self, expr: Expr) -> Expr:
        """Validate ``expr`` against the schema and normalise names and enum values."""
        if isinstance(expr, And):
            return And(tuple(self.bind(op) for op in expr.operands))
        if isinstance(expr, Or):
            return Or(tuple(self.bind(op) for op in expr.operands))
        if isinstance(expr, Not):
            return Not(self.bind(expr.operand))
        if isinstance(expr, Test | ServerClause):
            return expr
        return self.bind_leaf(expr)

    def bind_leaf(self, node: Expr) -> Expr:
        """Validate and normalise one condition; errors say what is allowed."""
        field: FieldPath = node.field  # type: ignore[attr-defined]
        spec = self.lookup(field)
        path = (spec.name,)
        if isinstance(node, Compare):
            if node.op == "==" and node.value is True and spec.type is not FieldType.BOOL:
                raise FilterTypeError(
                    f"{spec.name} is {_KIND[spec.type]}, not a true/false flag; "
                    "compare it with a value"
                )
            if node.value is None:
                if node.op not in ("==", "!="):
                    raise _value_error(
                        FilterTypeError, "null can only be compared with == or !=", 0
                    )
                return Compare(path, node.op, None)
            if node.op == "!=" and spec.type is FieldType.STRING_LIST:
                raise FilterTypeError(
                    f"{spec.name} is {_KIND[spec.type]}: `!=` would hold when *some* element "
                    f"differs; write `{spec.name} none [...]` or `not {spec.name} == ...`"
                )
            if node.op not in ("==", "!=") and spec.type in _UNORDERED:
                raise FilterTypeError(
                    f"{spec.name} is {_KIND[spec.type]}: it cannot be ordered with {node.op}"
                )
            return Compare(path, node.op, self._check(spec, node.value, 0))
        if isinstance(node, In):
            return In(path, [self._check(spec, v, i) for i, v in enumerate(node.values)])
        if isinstance(node, Quantified):
            if spec.type is not FieldType.STRING_LIST:
                raise FilterTypeError(
                    f"{node.quantifier} applies to list fields; {spec.name} is {_KIND[spec.type]}"
                    + (f" (use `{spec.name} in [...]`)" if node.quantifier == "any" else "")
                )
            return Quantified(
                path, node.quantifier, [self._check(spec, v, i) for i, v in enumerate(node.values)]
            )
        if isinstance(node, Match):
            if spec.type not in (FieldType.STRING, FieldType.STRING_LIST):
                raise FilterTypeError(
                    f"~ matches text; {spec.name} is {_KIND[spec.type]}"
                    + (" (use `in [...]` with its values)" if spec.type is FieldType.ENUM else "")
                )
            return Match(path, node.pattern, node.flags)
        if isinstance(node, Between):
            if spec.type in (FieldType.BOOL, FieldType.STRING_LIST, FieldType.ENUM):
                raise FilterTypeError(
                    f"between needs an ordered field; {spec.name} is {_KIND[spec.type]}"
                )
            return Between(path, self._check(spec, node.low, 0), self._check(spec, node.high, 1))
        if isinstance(node, Exists):
            return Exists(path)
        raise TypeError(f"not a condition: {node!r}")  # pragma: no cover

    def _check(self, spec: FieldSpec, value: Scalar, index: int) -> Scalar:
        if value is None:
            return None
        if not _value_fits(spec.type, value):
            raise _value_error(
                FilterTypeError,
                f"{spec.name} takes {_TYPE_WORDS[spec.type]}, not {_describe(value)}"
                + (f"; allowed: {', '.join(spec.values)}" if spec.type is FieldType.ENUM else "")
                + _time_hint(spec, value),
                index,
            )
        if spec.type is FieldType.ENUM:
            assert isinstance(value, str)
            canon = {v.lower(): v for v in spec.values}.get(value.lower())
            if canon is None:
                close = suggest(value, spec.values, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise _value_error(
                    FilterValueError,
                    f"unknown {spec.name} {value!r}{hint}; allowed: {', '.join(spec.values)}",
                    index,
                )
            return canon
        return value


def _time_hint(spec: FieldSpec, value: Scalar) -> str:
    """For a date field given time *text*: the spellings that mean it."""
    if spec.type is not FieldType.DATETIME or not isinstance(value, str):
        return ""
    from .times import when

    try:
        when(value)
    except ArgumentError:
        return ""
    return (
        f"; in Python write when({value!r}) (from qwhere import when); "
        f"in filter text, leave it unquoted: {value.strip()}"
    )


def _describe(value: Scalar) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, int | float):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, RelativeTime | date):
        return f"{value} (a date)"
    return repr(value)  # pragma: no cover


def _value_error(
    kind: type[FilterTypeError] | type[FilterValueError], message: str, index: int
) -> Exception:
    return kind(message, value_index=index)
