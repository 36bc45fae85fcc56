"""Tree -> LoopBack ``where`` clause for one connector profile, with a verdict per part.

The generator takes a *prepared* tree (:func:`qwhere.resolve.prepare`) in
negation normal form (:func:`qwhere.resolve.to_nnf`) and returns, per node, a
:class:`Pushed`: the clause to send, whether the engine selects exactly what the
node selects, and why not when it does not. An inexact clause is always a sound
superset (``{}`` when nothing can be said), so the planner can finish the job on
the client. What differs between connectors is read from the :class:`Profile`
(``profiles.py``), never decided here by the connector's name. Every claim of
exactness is checked against the real engines by ``tests/conformance`` (juggler)
and ``tests/lb3`` (a LoopBack 3 app on PostgreSQL and MariaDB).

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

import json
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from ..errors import FilterTypeError, FilterValueError, UnsupportedWhereError
from ..jsregex import dot_matches_all
from ..resolve import to_nnf
from ..schema import FieldType
from ..target import Taken, Target
from ..text import format_field
from ..tree import (
    FALSE,
    PROTOTYPE_KEYS,
    TRUE,
    And,
    Between,
    Compare,
    ComparisonOp,
    Exists,
    Expr,
    FieldPath,
    Generator,
    In,
    Match,
    Not,
    Or,
    Quantified,
    ServerClause,
    Test,
    all_of,
    any_of,
    walk,
)
from ..values import Scalar
from .profiles import MEMORY, Profile
from .regex import like_superset, to_postgresql, without_multiline

__all__ = ["LoopBackGenerator", "LoopBackTarget", "Pushed", "json_value"]

Where = dict[str, Any]
_MAX_SAFE_INT = 2**53 - 1
_OPERATOR_KEYS = frozenset({"and", "or", "nor", "not"})
_ORDER_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}
_NEGATED_ORDER = {"<": "gte", "<=": "gt", ">": "lte", ">=": "lt"}


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
    """``{"or": parts}`` flattened (LoopBack limits how deep a query may nest)."""
    flat: list[Where] = []
    for part in parts:
        nested = part.get("or") if len(part) == 1 else None
        flat.extend(nested if isinstance(nested, list) and nested else [part])
    return flat[0] if len(flat) == 1 else {"or": flat}


#: LoopBack's REST layer refuses a filter nested deeper than 12 (``maxDepthOfQuery``);
#: ``filter={"where": ...}`` spends one level on ``where``.
MAX_WHERE_DEPTH = 11


def where_depth(value: Any) -> int:
    """The longest chain of keys and indexes in ``value`` (as LoopBack counts levels)."""
    if isinstance(value, dict):
        return 1 + max((where_depth(v) for v in value.values()), default=0) if value else 0
    if isinstance(value, list):
        return 1 + max((where_depth(v) for v in value), default=0) if value else 0
    return 0


_JSON_TEXT = "stores {what} as JSON text"


def _js_number(value: int | float) -> str | None:
    """How JavaScript's JSON.stringify writes ``value``, where Python writes it alike."""
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):
        return None
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    return None if "e" in text else text


class LoopBackGenerator(Generator[Pushed]):
    """One method per node (``not_<node>`` for a negated condition), for one profile."""

    def __init__(
        self, types: Mapping[FieldPath, FieldType] | None = None, profile: Profile = MEMORY
    ) -> None:
        self.types = dict(types or {})
        self.profile = profile

    # -- helpers -----------------------------------------------------------------------------

    def kind(self, path: FieldPath) -> FieldType | None:
        return self.types.get(path)

    def scalar(self, path: FieldPath) -> bool:
        """The field is known to hold one value (not a list): negations stay exact."""
        kind = self.kind(path)
        return kind is not None and kind is not FieldType.STRING_LIST

    def nothing(self) -> Pushed:
        return _exact(dict(self.profile.nothing))

    def values(self, path: FieldPath, values: tuple[Scalar, ...]) -> list[Any]:
        self._checked(path, values)
        out = [json_value(v) for v in values]
        if len(path) > 1 and any(isinstance(v, datetime) for v in values):
            raise _NotJson("dates on a dotted path are compared as text by LoopBack")
        return out

    def safely(self, build: Any, *args: Any) -> Pushed:
        try:
            result: Pushed = build(*args)
        except _NotJson as exc:
            return _superset(str(exc))
        return result

    def generate(self, node: Expr) -> Pushed:
        integral = self._integral(node)
        if integral is not None:
            return integral
        return self.safely(super().generate, node)

    def _integral(self, node: Expr) -> Pushed | None:
        """A number test on a 32-bit integer column, rewritten with integer bounds.

        automigrate makes ``number`` an INTEGER column on the SQL connectors: they refuse
        a fraction or an out-of-range bound, and no stored value can equal one.
        """
        negated = isinstance(node, Not)
        inner = node.operand if isinstance(node, Not) else node
        if not isinstance(inner, Compare | Between | In | Quantified):
            return None
        path = inner.field
        if len(path) > 1 or self.kind(path) is not FieldType.NUMBER:
            return None
        if self.profile.numbers == "float":
            return None
        values = (
            [inner.low, inner.high]
            if isinstance(inner, Between)
            else ([inner.value] if isinstance(inner, Compare) else list(inner.values))
        )
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if all(isinstance(v, int) and _INT32[0] <= v <= _INT32[1] for v in numbers):
            return None
        if self.profile.numbers == "either":
            return _superset("a fraction or a number beyond 32 bits fails on an integer column")
        rewritten = _on_int32(inner)
        if negated:
            rewritten = to_nnf(Not(rewritten))
        return self.generate(rewritten)

    def _checked(self, path: FieldPath, values: tuple[Scalar, ...]) -> None:
        """Type errors do not depend on the connector: raise them before any profile rule."""
        if self.kind(path) is FieldType.DATETIME and any(
            not isinstance(v, datetime) and v is not None for v in values
        ):
            raise FilterTypeError(f"{format_field(path)} holds dates; compare it with a date")

    def _opaque(self, path: FieldPath) -> str | None:
        """Why nothing but null tests can be sent for ``path`` on this profile, if so."""
        p = self.profile
        if len(path) > 1 and p.objects != "nested":
            if p.objects is None:
                return "dotted paths are not queryable on every connector"
            return f"{p.name} {_JSON_TEXT.format(what='objects')}: dotted paths are not columns"
        kind = self.kind(path)
        if kind is None and p.lists != "array":
            return f"the column type of {format_field(path)} is unknown on {p.name}; give types="
        return None

    def _is_text(self, path: FieldPath) -> bool:
        """Stored as JSON text (a list or an object member on a SQL connector)."""
        if len(path) > 1:
            return self.profile.objects == "json_text"
        return self.kind(path) is FieldType.STRING_LIST and self.profile.lists == "json_text"

    def _json_like(self, path: FieldPath, value: Scalar) -> Where | None:
        """A test of the JSON text that holds ``path``, which every match satisfies.

        Lists take ``like``; juggler refuses ``like`` on an object property (it reads it
        as a nested where clause) but passes ``regexp`` through, so a member is found by
        a literal pattern where the connector has a regexp.
        """
        literal: str | None
        if isinstance(value, bool):
            literal = "true" if value else "false"
        elif isinstance(value, int | float):
            literal = _js_number(value)
        elif isinstance(value, str):
            literal = json.dumps(value, ensure_ascii=False)
            if any(not ("\u0020" <= c <= "\ud7ff" or "\ue000" <= c <= "\uffff") for c in value):
                return None
        else:
            literal = None
        if literal is None:
            return None
        if len(path) > 1:
            last = path[-1]
            if self.profile.regexp != "postgresql" or not all(
                c.isalnum() or c in "_-" for c in last
            ):
                return None
            if isinstance(value, str) and any(c in '"\\' for c in value):
                return None
            member = f'"{last}":{literal}'
            text = "".join("\\" + c if c.isascii() and not c.isalnum() else c for c in member)
            return {field_key(path[:1]): {"regexp": f"/{text}/"}}
        column = path[0]
        if self.profile.like == "juggler" and any(c in _LIKE_UNSAFE for c in literal):
            return None
        pattern = "%" + literal.replace("\\", "\\\\") + "%"
        return {field_key((column,)): {"like": pattern}}

    def _element(self, path: FieldPath, value: Scalar) -> Pushed:
        """``path`` holds (or, for a list, has an element equal to) ``value``."""
        p = self.profile
        key = field_key(path)
        text_form = self._json_like(path, value) if p.lists != "array" or len(path) > 1 else None
        if len(path) > 1:
            if p.objects == "nested":
                (sent,) = self.values(path, (value,))
                return _exact({key: sent})
            if text_form is None:
                return _superset(self._opaque(path) or "")
            return Pushed(text_form, False, self._opaque(path) or "")
        kind = self.kind(path)
        (sent,) = self.values(path, (value,))
        if kind is FieldType.STRING_LIST and p.lists != "array":
            reason = f"{p.name} {_JSON_TEXT.format(what='lists')}: an element is found by like"
            if p.lists == "either":
                reason = "lists are arrays on memory and JSON text on SQL connectors"
            if text_form is None:
                return _superset(reason)
            if p.lists == "either":
                return Pushed({"or": [{key: sent}, text_form]}, False, reason)
            return Pushed(text_form, False, reason)
        if kind is None and p.lists != "array":
            return _superset(self._opaque(path) or "")
        if isinstance(value, str) and not p.exact_string_equality:
            return Pushed({key: sent}, False, f"{p.name} compares strings case-insensitively")
        return _exact({key: sent})

    def _neq(self, key: str, clause: Where, *, nulls: bool = True) -> Where:
        """``clause`` (a neq / nin) and, where the connector drops them, the null records."""
        if self.profile.neq_selects_null or not nulls:
            return clause
        return _or([clause, {key: None}])

    def _inexact_negation(self, path: FieldPath, value: Scalar | None = None) -> str | None:
        """Why a negated test of ``path`` cannot be sent on this profile, if so."""
        opaque = self._opaque(path)
        if opaque:
            return opaque
        if not self.scalar(path):
            return (
                "on a possible list field LoopBack's operators test some element "
                "(declare the field's type, types= or a Schema, to send it: docs/models.md)"
            )
        if isinstance(value, str) and not self.profile.exact_string_equality:
            return f"{self.profile.name} compares strings case-insensitively"
        return None

    def _orderable(self, path: FieldPath, *values: Scalar) -> str | None:
        """Why an ordering test of ``path`` cannot be sent on this profile, if so."""
        opaque = self._opaque(path)
        if opaque:
            return opaque
        texts = [v for v in values if isinstance(v, str)]
        if not texts:
            return None
        order = self.profile.string_order
        if order == "utf16":
            return None
        if order == "codepoint" and all(c < "\ud800" for t in texts for c in t):
            return None  # below the surrogates code points and UTF-16 units agree
        return f"{self.profile.name} does not order strings as JavaScript does"

    # -- conditions ----------------------------------------------------------------------------

    def compare(self, node: Compare) -> Pushed:
        key, value, op = field_key(node.field), node.value, node.op
        self._checked(node.field, (value,))
        if value is None:
            if op not in ("==", "!="):
                return self.nothing()  # ordering against null never holds
            if op == "!=":
                if len(node.field) > 1 and self.profile.objects != "nested":
                    return _superset(self._opaque(node.field) or "")
                return _exact({key: {"neq": None}})  # lists included: [] is not null
            return self._is_null(node.field)
        resolution = self.profile.date_resolution_ms * 1000
        if isinstance(value, datetime) and value.microsecond % resolution and len(node.field) == 1:
            if self._opaque(node.field):
                return _superset(self._opaque(node.field) or "")
            return self._widened(key, op, value)
        if op == "==":
            return self._element(node.field, value)
        if op == "!=":
            why = self._opaque(node.field)
            if why:
                return _superset(why)
            (sent,) = self.values(node.field, (value,))
            if self.kind(node.field) is FieldType.STRING_LIST:
                if self.profile.lists != "array":
                    return _superset("LoopBack's != on a list tests some element; no SQL form")
                return _exact({key: {"neq": sent}})
            if isinstance(value, str) and not self.profile.exact_string_equality:
                return _superset(f"{self.profile.name} compares strings case-insensitively")
            return _exact(self._neq(key, {key: {"neq": sent}}))
        if self.kind(node.field) is FieldType.STRING_LIST and self.profile.lists != "array":
            return _superset("an ordering test of some element has no form on JSON text")
        why = self._orderable(node.field, value)
        if why:
            return _superset(why)
        (sent,) = self.values(node.field, (value,))
        return _exact({key: {_ORDER_OPS[op]: sent}})

    def _is_null(self, path: FieldPath) -> Pushed:
        key = field_key(path)
        if len(path) > 1 and self.profile.objects != "nested":
            return _superset(self._opaque(path) or "")
        if not self.scalar(path) and self.profile.lists != "json_text":
            # juggler raises on {"x": null} for a list property: only SQL connectors take it
            return _superset("LoopBack's memory connector raises on a null test of a list field")
        return _exact({key: None})

    def _widened(self, key: str, op: str, value: datetime) -> Pushed:
        """A bound finer than the connector keeps: send the enclosing span, finish on the client."""
        step = self.profile.date_resolution_ms
        micro = value.microsecond - value.microsecond % (step * 1000) if step < 1000 else 0
        floor = value.replace(microsecond=micro)
        low, high = json_value(floor), json_value(floor + timedelta(milliseconds=step))
        if step >= 1000:
            reason = f"{self.profile.name} keeps dates to the second; the bound is widened"
        else:
            reason = "JavaScript dates keep milliseconds; the bound is widened to them"
        if op in (">", ">="):
            return Pushed({key: {"gte": low}}, False, reason)
        if op in ("<", "<="):
            return Pushed({key: {"lte": high}}, False, reason)
        if op == "==":
            return Pushed({key: {"between": [low, high]}}, False, reason)
        return _superset(reason)

    def _any_of(self, path: FieldPath, values: tuple[Scalar, ...]) -> Pushed:
        """Some element (or the value) equals one of ``values``."""
        key = field_key(path)
        p = self.profile
        simple = (p.lists == "array" and (len(path) == 1 or p.objects == "nested")) or (
            len(path) == 1 and self.scalar(path)
        )
        if simple and all(v is not None for v in values):
            sent = self.values(path, values)
            exact = p.exact_string_equality or not any(isinstance(v, str) for v in values)
            reason = "" if exact else f"{p.name} compares strings case-insensitively"
            return Pushed({key: {"inq": sent}}, exact, reason)
        if simple and p.lists == "array":
            return _exact({key: {"inq": self.values(path, values)}})
        parts = [self._is_null(path) if v is None else self._element(path, v) for v in values]
        if any(part.where == {} for part in parts):
            return _superset(next(part.reason for part in parts if part.where == {}))
        return Pushed(
            _or([part.where for part in parts]),
            all(part.exact for part in parts),
            "; ".join(dict.fromkeys(part.reason for part in parts if part.reason)),
        )

    def in_(self, node: In) -> Pushed:
        self._checked(node.field, node.values)
        if not node.values:
            return self.nothing()
        self.values(node.field, node.values)
        return self._any_of(node.field, node.values)

    def quantified(self, node: Quantified) -> Pushed:
        self._checked(node.field, node.values)
        if any(v is None for v in node.values):
            return _superset("null inside a list quantifier has no LoopBack form")
        self.values(node.field, node.values)
        if node.quantifier == "any":
            if not node.values:
                return self.nothing()
            return self._any_of(node.field, node.values)
        if node.quantifier == "all":
            parts = [self._element(node.field, v) for v in node.values]
            return Pushed(
                conjunction([part.where for part in parts]),
                all(part.exact for part in parts),
                "; ".join(dict.fromkeys(part.reason for part in parts if part.reason)),
            )
        return self._none_of(node.field, node.values)

    def _none_of(self, path: FieldPath, values: tuple[Scalar, ...]) -> Pushed:
        """No element (or not the value) is one of ``values`` (no null among them)."""
        if not values:
            return _exact({})
        why = self._inexact_negation(path, next((v for v in values if isinstance(v, str)), None))
        if why:
            if not self.scalar(path) and not self._opaque(path):
                why = "LoopBack cannot say 'no element' of a list (its operators test some element)"
            return _superset(why)
        key = field_key(path)
        return _exact(self._neq(key, {key: {"nin": self.values(path, values)}}))

    def match(self, node: Match) -> Pushed:
        key = field_key(node.field)
        if self.kind(node.field) not in (None, FieldType.STRING, FieldType.STRING_LIST):
            raise FilterTypeError(f"~ matches text; {format_field(node.field)} is not text")
        pattern, flags = node.pattern, node.flags
        p = self.profile
        if p.regexp == "javascript" and not self._is_text(node.field):
            if "s" in flags:  # LoopBack refuses the s flag: spell its dot out instead
                pattern, flags = dot_matches_all(pattern), flags.replace("s", "")
            if len(node.field) > 1:
                if flags:
                    return _superset("LoopBack ignores regex flags on a dotted path")
                if not pattern:
                    return _superset("LoopBack ignores an empty pattern on a dotted path")
                return _exact({key: {"regexp": pattern}})
            return _exact({key: {"regexp": f"/{pattern}/{flags}"}})
        if (
            p.regexp == "postgresql"
            and not self._opaque(node.field)
            and not self._is_text(node.field)
        ):
            translated = to_postgresql(pattern, flags)
            if translated is not None:
                # PostgreSQL matches "" where the pattern allows it; LoopBack's engine never does
                clause = {key: {"regexp": f"/{translated}/{flags}"}}
                return _exact({"and": [clause, {key: {"neq": ""}}]})
        return self._like(node)

    def _like(self, node: Match) -> Pushed:
        """A ``like`` superset of a pattern the connector cannot run as it is."""
        p = self.profile
        if p.regexp is None:
            reason = f"{p.name} has no regexp LoopBack can use"
        elif self._opaque(node.field):
            reason = self._opaque(node.field) or ""
        elif self._is_text(node.field):
            reason = f"{p.name} {_JSON_TEXT.format(what='lists and objects')}"
        else:
            reason = f"{p.name} reads this pattern its own way"
        if self.kind(node.field) is None and p.lists != "array":
            return _superset(self._opaque(node.field) or reason)
        inside_json = self._is_text(node.field) or (
            self.kind(node.field) is FieldType.STRING_LIST and p.lists == "either"
        )
        if len(node.field) > 1 and not inside_json:
            return _superset(reason)
        caseless = "i" in node.flags and p.caseless_like is not None
        like = like_superset(
            node.pattern,
            node.flags,
            plain=p.like == "juggler",
            inside_json=inside_json,
            caseless=caseless,
        )
        if like is None:
            return _superset(reason)
        op = p.caseless_like if caseless and p.caseless_like else "like"
        if len(node.field) > 1:
            return _superset(reason)  # juggler refuses like on an object property
        return Pushed({field_key(node.field): {op: like}}, False, reason + "; like narrows it")

    def between(self, node: Between) -> Pushed:
        self._checked(node.field, (node.low, node.high))
        if node.low is None or node.high is None:
            return self.nothing()
        if self.kind(node.field) is FieldType.STRING_LIST and self.profile.lists != "array":
            return _superset("an ordering test of some element has no form on JSON text")
        why = self._orderable(node.field, node.low, node.high)
        if why:
            return _superset(why)
        key = field_key(node.field)
        step = self.profile.date_resolution_ms
        low, high = node.low, node.high
        if len(node.field) == 1 and step > 1:
            if isinstance(low, datetime) and low.microsecond:
                low = low.replace(microsecond=0)
            if isinstance(high, datetime) and high.microsecond:
                high = high.replace(microsecond=0) + timedelta(seconds=1)
            if (low, high) != (node.low, node.high):
                reason = f"{self.profile.name} keeps dates to the second; the bounds are widened"
                return Pushed(
                    {key: {"between": self.values(node.field, (low, high))}}, False, reason
                )
        return _exact({key: {"between": self.values(node.field, (low, high))}})

    def exists(self, node: Exists) -> Pushed:
        if len(node.field) > 1 and self.profile.objects != "nested":
            # the object holding it must exist; the member is checked on the client
            return Pushed(
                {field_key(node.field[:1]): {"neq": None}}, False, self._opaque(node.field) or ""
            )
        # on a list field too: neq null holds for [] and any list, never for null or missing
        return _exact({field_key(node.field): {"neq": None}})

    def test(self, node: Test) -> Pushed:
        return _superset("a Python callable runs on the client")

    def server_clause(self, node: ServerClause) -> Pushed:
        return Pushed(node.where, True, "server-only: sent unchanged, judged by the server")

    # -- connectives ---------------------------------------------------------------------------

    def and_(self, node: And) -> Pushed:
        parts = [self.generate(op) for op in node.operands]
        reasons = "; ".join(dict.fromkeys(p.reason for p in parts if p.reason))
        return Pushed(conjunction([p.where for p in parts]), all(p.exact for p in parts), reasons)

    def or_(self, node: Or) -> Pushed:
        parts = [self.generate(op) for op in node.operands]
        reasons = "; ".join(dict.fromkeys(p.reason for p in parts if p.reason))
        if any(p.where == {} for p in parts):
            # one side may be anything: the whole disjunction may be anything
            return Pushed({}, all(p.exact for p in parts), reasons)
        if not parts:
            return Pushed(dict(self.profile.nothing), True, reasons)
        return Pushed(_or([p.where for p in parts]), all(p.exact for p in parts), reasons)

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
        self._checked(node.field, (value,))
        if value is None:
            if op in ("==", "!="):
                return self.compare(Compare(node.field, "!=" if op == "==" else "==", None))
            return _exact({})  # not (x < null): everything
        why = self._inexact_negation(node.field, value)
        if why:
            return _superset(why)
        if op == "!=":
            return self._element(node.field, value)
        if isinstance(value, datetime) and value.microsecond % (
            self.profile.date_resolution_ms * 1000
        ):
            return _superset("the bound is finer than the connector keeps dates")
        (sent,) = self.values(node.field, (value,))
        if op == "==":
            return _exact(self._neq(key, {key: {"neq": sent}}))
        why = self._orderable(node.field, value)
        if why:
            return _superset(why)
        return _exact({"or": [{key: {_NEGATED_ORDER[op]: sent}}, {key: None}]})

    def not_in(self, node: In) -> Pushed:
        self._checked(node.field, node.values)
        if not node.values:
            return _exact({})
        why = self._inexact_negation(
            node.field, next((v for v in node.values if isinstance(v, str)), None)
        )
        if why:
            return _superset(why)
        key = field_key(node.field)
        sent = self.values(node.field, node.values)
        if self.profile.neq_selects_null:
            return _exact({key: {"nin": sent}})
        present = [v for v in sent if v is not None]
        if len(present) < len(sent):  # null is excluded too
            clause: Where = {key: {"neq": None}}
            return _exact(conjunction([{key: {"nin": present}}, clause]) if present else clause)
        return _exact(self._neq(key, {key: {"nin": sent}}))

    def not_quantified(self, node: Quantified) -> Pushed:
        if node.quantifier == "none":
            return self.quantified(Quantified(node.field, "any", node.values))
        self._checked(node.field, node.values)
        if any(v is None for v in node.values):
            return _superset("null inside a list quantifier has no LoopBack form")
        if not self.scalar(node.field) and not self._opaque(node.field):
            return _superset("LoopBack cannot negate a test of some element of a list")
        if node.quantifier == "any":
            return self._none_of(node.field, node.values)
        if not node.values:
            return self.nothing()  # not (all of nothing)
        why = self._inexact_negation(
            node.field, next((v for v in node.values if isinstance(v, str)), None)
        )
        if why:
            return _superset(why)
        key = field_key(node.field)
        sent = self.values(node.field, node.values)
        return _exact(_or([self._neq(key, {key: {"neq": v}}) for v in sent]))

    def not_match(self, node: Match) -> Pushed:
        # LoopBack has no negated regexp, but "P matches nowhere" is the pattern
        # ^(?![\s\S]*(?:P)), and missing, null and "" (never matched) are added back.
        if self.kind(node.field) is not FieldType.STRING:
            return _superset("LoopBack cannot negate a regular expression on a possible list")
        p = self.profile
        key = field_key(node.field)
        if self._opaque(node.field):
            return _superset(self._opaque(node.field) or "")
        pattern, flags = node.pattern, node.flags
        if p.regexp == "javascript":
            if "m" in flags:  # the outer ^ must stay the start of the text
                pattern, flags = without_multiline(pattern), flags.replace("m", "")
            inner = self.match(Match(node.field, f"^(?![\\s\\S]*(?:{pattern}))", flags))
            if not inner.exact:
                return _superset(inner.reason)
            return _exact({"or": [{key: None}, {key: ""}, inner.where]})
        if p.regexp == "postgresql" and "i" not in flags:
            translated = to_postgresql(pattern, flags)
            if translated is not None:
                # PostgreSQL's . (outside brackets) matches every character, newlines too
                negated = {key: {"regexp": f"/^(?!.*(?:{translated}))/"}}
                return _exact({"or": [{key: None}, {key: ""}, negated]})
        return _superset(f"{p.name} cannot negate this pattern exactly")

    def not_between(self, node: Between) -> Pushed:
        self._checked(node.field, (node.low, node.high))
        if node.low is None or node.high is None:
            return _exact({})
        why = self._inexact_negation(node.field) or self._orderable(node.field, node.low, node.high)
        if why:
            return _superset(why)
        if any(
            isinstance(v, datetime) and v.microsecond % (self.profile.date_resolution_ms * 1000)
            for v in (node.low, node.high)
        ):
            return _superset("the bound is finer than the connector keeps dates")
        key = field_key(node.field)
        low, high = self.values(node.field, (node.low, node.high))
        return _exact({"or": [{key: {"lt": low}}, {key: {"gt": high}}, {key: None}]})

    def not_exists(self, node: Exists) -> Pushed:
        return self._is_null(node.field)

    def not_test(self, node: Test) -> Pushed:
        return self.test(node)

    def not_server_clause(self, node: ServerClause) -> Pushed:
        raise UnsupportedWhereError(
            f"{node.text} can only be judged by the server, and LoopBack has no not"
        )


_INT32 = (-(2**31), 2**31 - 1)


def _int_compare(path: FieldPath, op: ComparisonOp, value: Scalar) -> Expr:
    """``path op value`` over a column of 32-bit integers (or null), with an integer bound."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return Compare(path, op, value)
    low, high = _INT32
    if op == "==":
        ok = float(value).is_integer() and low <= value <= high
        return Compare(path, "==", int(value)) if ok else FALSE
    if op == "!=":
        ok = float(value).is_integer() and low <= value <= high
        return Compare(path, "!=", int(value)) if ok else TRUE
    # the least integer that passes (ascending ops) or the greatest (descending ops)
    if op in (">", ">="):
        first = math.floor(value) + 1 if op == ">" else math.ceil(value)
        if first > high:
            return FALSE
        return Exists(path) if first <= low else Compare(path, ">=", first)
    last = math.ceil(value) - 1 if op == "<" else math.floor(value)
    if last < low:
        return FALSE
    return Exists(path) if last >= high else Compare(path, "<=", last)


def _on_int32(node: Compare | Between | In | Quantified) -> Expr:
    path = node.field
    if isinstance(node, Compare):
        return _int_compare(path, node.op, node.value)
    if isinstance(node, Between):
        if node.low is None or node.high is None:
            return FALSE
        return all_of(_int_compare(path, ">=", node.low), _int_compare(path, "<=", node.high))
    members = [
        _int_compare(path, "==", v) if v is not None else Compare(path, "==", None)
        for v in node.values
    ]
    if isinstance(node, In) or node.quantifier == "any":
        return any_of(*(m for m in members if m != FALSE))
    if node.quantifier == "all":
        return all_of(*members)
    return Not(any_of(*(m for m in members if m != FALSE)))


#: characters juggler's memory ``like`` does not read as themselves
_LIKE_UNSAFE = frozenset(".*+?^=!:${}()|[]/\\")


class LoopBackTarget(Target[Where, Where]):
    """The LoopBack REST API on one connector: conjuncts become one ``where`` clause."""

    def __init__(
        self, types: Mapping[FieldPath, FieldType] | None = None, profile: Profile = MEMORY
    ) -> None:
        self.profile = profile
        self.name = f"loopback/{profile.name}"
        self.generator = LoopBackGenerator(types, profile)

    def take(self, conjunct: Expr) -> Taken[Where]:
        pushed = self.generator.generate(conjunct)
        reason = pushed.reason
        if pushed.exact and pushed.where:
            untyped = sorted(
                {
                    format_field(node.field)
                    for node in walk(conjunct)
                    if hasattr(node, "field") and node.field not in self.generator.types
                }
            )
            if untyped:
                reason = (
                    f"exact where {', '.join(untyped)} {'is a' if len(untyped) == 1 else 'are'} "
                    "declared propert" + ("y" if len(untyped) == 1 else "ies") + " of the "
                    "model; undeclared ones (strict: false) are compared loosely by LoopBack"
                )
        return Taken(pushed.where or None, pushed.exact, reason)

    def render(self, clauses: Sequence[Where]) -> Where:
        return conjunction(list(clauses))

    def fits(self, clauses: Sequence[Where]) -> bool:
        return where_depth(self.render(clauses)) <= MAX_WHERE_DEPTH

    def weight(self, clause: Where) -> int:
        return where_depth(clause)
