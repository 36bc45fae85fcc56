"""Tree -> LoopBack ``where`` clause, with a verdict on exactness for every part.

The generator takes a *prepared* tree (:func:`qwhere.resolve.prepare`) in
negation normal form (:func:`qwhere.resolve.to_nnf`) and returns, per node, a
:class:`Pushed`: the clause to send, whether the engine selects exactly what the
node selects, and why not when it does not. An inexact clause is always a sound
superset (``{}`` when nothing can be said), so the planner can finish the job on
the client. Every claim of exactness here is checked against the real engine by
``tests/conformance``.

Engine facts this relies on (``loopback-datasource-juggler``, memory connector,
the code every LoopBack server runs):

* one operator per condition object: with several, only the first is applied;
* there is no ``not``; ``neq``/``nin`` also select records where the field is
  null or missing, ``gt``/``lt`` never do;
* on a list-valued field every operator holds if *some* element satisfies it;
* ``{"x": null}`` matches missing and null, but raises on a list property;
* ``exists`` selects nothing; ``inq``/``nin`` never match dates;
* dotted paths (``backend.name``) skip type coercion: ``{"eq": v}`` selects
  nothing there, a ``"/re/i"`` string is not read as a regular expression, and
  dates are not dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from .errors import FilterTypeError, FilterValueError
from .jsregex import dot_matches_all
from .schema import FieldType
from .text import format_field
from .tree import (
    PROTOTYPE_KEYS,
    And,
    Between,
    Compare,
    Exists,
    Expr,
    FieldPath,
    Generator,
    In,
    Match,
    Not,
    Or,
    Quantified,
    Test,
)
from .values import Scalar

__all__ = ["LoopBackGenerator", "Pushed", "json_value"]

Where = dict[str, Any]
_MAX_SAFE_INT = 2**53 - 1
_OPERATOR_KEYS = frozenset({"and", "or", "nor", "not"})
_ORDER_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_NEGATED_ORDER = {"<": "gte", "<=": "gt", ">": "lte", ">=": "lt"}
_NOTHING: Where = {"or": []}


@attrs.frozen
class Pushed:
    """What can be sent for one node: ``where`` selects a superset, exactly when ``exact``."""

    where: Where
    exact: bool
    reason: str = ""


def _exact(where: Where) -> Pushed:
    return Pushed(where, True)


def _superset(reason: str) -> Pushed:
    return Pushed({}, False, reason)


class _NotJson(Exception):
    """A value the engine would not read back as the same value."""


def json_value(value: Scalar) -> Any:
    """A tree value as JSON for LoopBack (dates: UTC ISO-8601 with ``Z``, millisecond precision)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetimes must be resolved to UTC before compiling")
        if value.microsecond % 1000:
            raise _NotJson("JavaScript dates keep milliseconds, not microseconds")
        return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        if abs(value) > _MAX_SAFE_INT:
            raise _NotJson(f"{value} is beyond JavaScript's exact integers (2**53)")
        return value
    if isinstance(value, float):
        return value
    raise FilterTypeError(f"cannot send {value!r} to the server")


def field_key(path: FieldPath) -> str:
    key = ".".join(path)
    if key.lower() in _OPERATOR_KEYS or any(p.startswith("$") or p in PROTOTYPE_KEYS for p in path):
        raise FilterValueError(
            f"field name {key!r} would be read by LoopBack as an operator or from a JavaScript "
            "prototype; it cannot be queried"
        )
    return key


def conjunction(parts: list[Where]) -> Where:
    """``{"and": parts}`` flattened, without the parts that say nothing."""
    flat: list[Where] = []
    for part in parts:
        nested = part.get("and") if len(part) == 1 else None
        flat.extend(nested if isinstance(nested, list) and nested else [part])
    parts = [p for p in flat if p != {}]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"and": parts}


def _or(parts: list[Where]) -> Where:
    return parts[0] if len(parts) == 1 else {"or": parts}


class LoopBackGenerator(Generator[Pushed]):
    """One method per node (``not_<node>`` for a negated condition)."""

    def __init__(self, types: Mapping[FieldPath, FieldType] | None = None) -> None:
        self.types = dict(types or {})

    # -- helpers -----------------------------------------------------------------------------

    def kind(self, path: FieldPath) -> FieldType | None:
        return self.types.get(path)

    def scalar(self, path: FieldPath) -> bool:
        """The field is known to hold one value (not a list): negations stay exact."""
        kind = self.kind(path)
        return kind is not None and kind is not FieldType.STRING_LIST

    def values(self, path: FieldPath, values: tuple[Scalar, ...]) -> list[Any]:
        out = [json_value(v) for v in values]
        if len(path) > 1 and any(isinstance(v, datetime) for v in values):
            raise _NotJson("dates on a dotted path are compared as text by LoopBack")
        if self.kind(path) is FieldType.DATETIME and any(
            not isinstance(v, datetime) and v is not None for v in values
        ):
            raise FilterTypeError(f"{format_field(path)} holds dates; compare it with a date")
        return out

    def safely(self, build: Any, *args: Any) -> Pushed:
        try:
            result: Pushed = build(*args)
        except _NotJson as exc:
            return _superset(str(exc))
        return result

    def generate(self, node: Expr) -> Pushed:
        return self.safely(super().generate, node)

    # -- conditions ----------------------------------------------------------------------------

    def compare(self, node: Compare) -> Pushed:
        key, value, op = field_key(node.field), node.value, node.op
        if value is None:
            if op not in ("==", "!="):
                return _exact(_NOTHING)  # ordering against null never holds
            if op == "!=":
                return _exact({key: {"neq": None}})  # lists included: [] is not null
            if self.kind(node.field) is FieldType.STRING_LIST:
                return _superset("LoopBack raises on a null test of a list field")
            return _exact({key: None})
        if isinstance(value, datetime) and value.microsecond % 1000 and len(node.field) == 1:
            return self._widened(key, op, value)
        (sent,) = self.values(node.field, (value,))
        if op == "==":
            return _exact({key: sent})  # the plain form: {"eq": v} fails on dotted paths
        if op == "!=":
            return _exact({key: {"neq": sent}})
        return _exact({key: {_ORDER_OPS[op]: sent}})

    def _widened(self, key: str, op: str, value: datetime) -> Pushed:
        """A sub-millisecond bound: send the enclosing milliseconds, finish on the client."""
        floor = value.replace(microsecond=value.microsecond // 1000 * 1000)
        low, high = json_value(floor), json_value(floor + timedelta(milliseconds=1))
        reason = "JavaScript dates keep milliseconds; the bound is widened to them"
        if op in (">", ">="):
            return Pushed({key: {"gte": low}}, False, reason)
        if op in ("<", "<="):
            return Pushed({key: {"lte": high}}, False, reason)
        if op == "==":
            return Pushed({key: {"between": [low, high]}}, False, reason)
        return _superset(reason)

    def in_(self, node: In) -> Pushed:
        if not node.values:
            return _exact(_NOTHING)
        return _exact({field_key(node.field): {"inq": self.values(node.field, node.values)}})

    def quantified(self, node: Quantified) -> Pushed:
        key = field_key(node.field)
        if any(v is None for v in node.values):
            return _superset("null inside a list quantifier has no LoopBack form")
        sent = self.values(node.field, node.values)
        if node.quantifier == "any":
            return _exact({key: {"inq": sent}})
        if node.quantifier == "all":
            return _exact(conjunction([{key: v} for v in sent]))
        if self.scalar(node.field):
            return _exact({key: {"nin": sent}})
        return _superset(
            "LoopBack cannot say 'no element' of a list (its operators test some element)"
        )

    def match(self, node: Match) -> Pushed:
        key = field_key(node.field)
        if self.kind(node.field) not in (None, FieldType.STRING, FieldType.STRING_LIST):
            raise FilterTypeError(f"~ matches text; {format_field(node.field)} is not text")
        pattern, flags = node.pattern, node.flags
        if "s" in flags:  # LoopBack refuses the s flag: spell its dot out instead
            pattern, flags = dot_matches_all(pattern), flags.replace("s", "")
        if len(node.field) > 1:
            if flags:
                return _superset("LoopBack ignores regex flags on a dotted path")
            return _exact({key: {"regexp": pattern}})
        return _exact({key: {"regexp": f"/{pattern}/{flags}"}})

    def between(self, node: Between) -> Pushed:
        if node.low is None or node.high is None:
            return _exact(_NOTHING)
        return _exact(
            {field_key(node.field): {"between": self.values(node.field, (node.low, node.high))}}
        )

    def exists(self, node: Exists) -> Pushed:
        # on a list field too: neq null holds for [] and any list, never for null or missing
        return _exact({field_key(node.field): {"neq": None}})

    def test(self, node: Test) -> Pushed:
        return _superset("a Python callable runs on the client")

    # -- connectives ---------------------------------------------------------------------------

    def and_(self, node: And) -> Pushed:
        parts = [self.generate(op) for op in node.operands]
        reasons = "; ".join(p.reason for p in parts if p.reason)
        return Pushed(conjunction([p.where for p in parts]), all(p.exact for p in parts), reasons)

    def or_(self, node: Or) -> Pushed:
        parts = [self.generate(op) for op in node.operands]
        reasons = "; ".join(p.reason for p in parts if p.reason)
        if any(p.where == {} for p in parts):
            # one side may be anything: the whole disjunction may be anything
            return Pushed({}, all(p.exact for p in parts), reasons)
        return Pushed(
            _or([p.where for p in parts]) if parts else _NOTHING,
            all(p.exact for p in parts),
            reasons,
        )

    def not_(self, node: Not) -> Pushed:
        inner = node.operand
        method = getattr(self, "not_" + inner.key.rstrip("_"), None)
        if method is None:
            raise ValueError("negations must be pushed to the conditions first (to_nnf)")
        result: Pushed = self.safely(method, inner)
        return result

    # -- negated conditions: LoopBack has no `not` ---------------------------------------------

    def not_compare(self, node: Compare) -> Pushed:
        key, value, op = field_key(node.field), node.value, node.op
        if value is None:
            if op in ("==", "!="):
                return self.compare(Compare(node.field, "!=" if op == "==" else "==", None))
            return _exact({})  # not (x < null): everything
        if not self.scalar(node.field):
            return _superset("on a possible list field LoopBack's != tests some element")
        (sent,) = self.values(node.field, (value,))
        if op == "==":
            return _exact({key: {"neq": sent}})
        if op == "!=":
            return _exact({key: sent})
        return _exact({"or": [{key: {_NEGATED_ORDER[op]: sent}}, {key: None}]})

    def not_in(self, node: In) -> Pushed:
        if not node.values:
            return _exact({})
        if not self.scalar(node.field):
            return _superset("on a possible list field LoopBack's nin tests some element")
        return _exact({field_key(node.field): {"nin": self.values(node.field, node.values)}})

    def not_quantified(self, node: Quantified) -> Pushed:
        if node.quantifier == "none":
            return self.quantified(Quantified(node.field, "any", node.values))
        if not self.scalar(node.field):
            return _superset("LoopBack cannot negate a test of some element of a list")
        key = field_key(node.field)
        sent = self.values(node.field, node.values)
        if any(v is None for v in node.values):
            return _superset("null inside a list quantifier has no LoopBack form")
        if node.quantifier == "any":
            return _exact({key: {"nin": sent}})
        if not sent:
            return _exact(_NOTHING)  # not (all of nothing)
        return _exact(_or([{key: {"neq": v}} for v in sent]))

    def not_match(self, node: Match) -> Pushed:
        # LoopBack has no negated regexp, but "P matches nowhere" is the pattern
        # ^(?![\s\S]*(?:P)), and missing, null and "" (never matched) are added back.
        if self.kind(node.field) is not FieldType.STRING:
            return _superset("LoopBack cannot negate a regular expression on a possible list")
        inner = self.match(Match(node.field, f"^(?![\\s\\S]*(?:{node.pattern}))", node.flags))
        if not inner.exact:
            return _superset(inner.reason)
        key = field_key(node.field)
        return _exact({"or": [{key: None}, {key: ""}, inner.where]})

    def not_between(self, node: Between) -> Pushed:
        if node.low is None or node.high is None:
            return _exact({})
        if not self.scalar(node.field):
            return _superset("LoopBack cannot negate a test of some element of a list")
        key = field_key(node.field)
        low, high = self.values(node.field, (node.low, node.high))
        return _exact({"or": [{key: {"lt": low}}, {key: {"gt": high}}, {key: None}]})

    def not_exists(self, node: Exists) -> Pushed:
        if self.kind(node.field) is FieldType.STRING_LIST:
            return _superset("LoopBack raises on a null test of a list field")
        return _exact({field_key(node.field): None})

    def not_test(self, node: Test) -> Pushed:
        return self.test(node)
