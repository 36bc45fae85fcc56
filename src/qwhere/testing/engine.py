"""LoopBack's ``find`` and ``count`` over a list of records, in Python.

This is what the demo service answers with. It mirrors the memory connector of
``loopback-datasource-juggler`` (the code every LoopBack server runs):

* ``where`` is read with :func:`qwhere.from_where` and evaluated with
  :func:`qwhere.predicate`, which the conformance suite pins to the engine;
  ``like`` and its kin (server-only for qwhere) are decided as juggler decides
  them (:func:`juggler_like`);
* ``order`` is ``"key [ASC|DESC]"`` (a comma-separated string or a list); the
  sort is stable (ties keep insertion order), a missing value sorts below every
  value and, on date fields, ``null`` sorts as the epoch (as JavaScript compares
  it); without an order, records come by id, ascending;
* ``skip``/``offset`` and ``limit`` apply after sorting and filtering;
  ``limit: 0`` means no limit; ``fields`` selects properties;
* what LoopBack rejects with 400 (a filter that is not an object, a bad limit or
  direction) raises :class:`BadFilter`, and so does a ``where`` that qwhere
  cannot read (real LoopBack may accept some of those: see ``docs/rest.md``).

``Collection(..., order=ORDERS["postgresql"])`` orders like an SQL connector
instead: ids compared and sorted by code point (PostgreSQL, C collation) or
case-insensitively with trailing spaces ignored (MariaDB, utf8mb4_general_ci),
and null or missing values above every value (PostgreSQL: first when descending)
or below it (MariaDB).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import attrs

from ..errors import QwhereError
from ..evaluator import MISSING, get_path, read_datetime
from ..jsregex import JsRegex
from ..schema import FieldType
from ..tree import Expr, FieldPath, ServerClause, walk

__all__ = ["ORDERS", "BadFilter", "Collection", "ServerOrder", "parse_order"]

Record = dict[str, Any]
_MISSING = object()
_DIRECTION = re.compile(r"^(.*?)(?:\s+(ASC|DESC))?$", re.IGNORECASE | re.DOTALL)


class BadFilter(Exception):
    """A filter LoopBack answers with HTTP 400."""


def _codepoints(text: str) -> str:
    # a string whose UTF-16 order is the code-point order of ``text``
    return "".join(f"{ord(c):06x}" for c in text)


def _case_insensitive(text: str) -> str:
    # utf8mb4_general_ci, near enough for ids: one weight per character, PAD SPACE
    return _codepoints(text.rstrip(" ").upper())


@attrs.frozen
class ServerOrder:
    """How a connector compares and sorts: ``ids`` maps an id to a key compared in
    JavaScript's order (None: the id itself); ``nulls`` places null and missing values."""

    name: str
    ids: Callable[[str], str] | None = None
    #: "memory": missing lowest, a null date as the epoch; "high"/"low": above/below all
    nulls: Literal["memory", "high", "low"] = "memory"


#: The orders a demo service can answer in (``serve(order="postgresql")``).
ORDERS: dict[str, ServerOrder] = {
    "memory": ServerOrder("memory"),
    "postgresql": ServerOrder("postgresql", _codepoints, "high"),
    "mysql": ServerOrder("mysql", _case_insensitive, "low"),
}
_ID_KEY = "__qwhere_id_key"


def parse_order(order: object) -> list[tuple[str, bool]]:
    """``"a DESC, b"`` or ``["a DESC", "b"]`` -> ``[("a", True), ("b", False)]``."""
    if isinstance(order, str):
        items: Sequence[object] = [part for part in order.split(",")]
    elif isinstance(order, list):
        items = order
    else:
        raise BadFilter(f"The order {json.dumps(order)} is not valid")
    result: list[tuple[str, bool]] = []
    for item in items:
        if not isinstance(item, str) or not item.strip():
            raise BadFilter(f"The order {json.dumps(item)} is not valid")
        text = item.strip()
        parts = text.split()
        if len(parts) > 2 or (len(parts) == 2 and parts[1].upper() not in ("ASC", "DESC")):
            raise BadFilter(f'The order "{text}" has invalid direction')
        result.append((parts[0], len(parts) == 2 and parts[1].upper() == "DESC"))
    return result


def _get(record: Mapping[str, Any], key: str) -> Any:
    value: Any = record
    for part in key.split("."):
        if not isinstance(value, Mapping):
            return _MISSING
        value = value.get(part, _MISSING)
        if value is None or value is _MISSING:
            return value
    return value


def _sort_key(dated: bool, nulls: str = "memory") -> Callable[[Any], tuple[Any, ...]]:
    def key(value: Any) -> tuple[Any, ...]:
        if value is _MISSING or value is None:
            if nulls == "high":
                return (9,)
            if nulls == "low":
                return (0,)
        if value is _MISSING:
            return (0,)
        if value is None:
            return (2, 0.0) if dated else (1,)
        if dated:
            moment = read_datetime(value)
            if moment is not None:
                return (2, moment.timestamp())
        if isinstance(value, bool):
            return (2, int(value))
        if isinstance(value, int | float):
            return (2, value)
        if isinstance(value, str):
            return (3, value.encode("utf-16-be", "surrogatepass"))
        return (4, json.dumps(value, sort_keys=True))

    return key


def _non_negative(value: object, name: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadFilter(f"The {name} parameter {json.dumps(value)} is not valid")
    return value


def _select(fields: object) -> Callable[[Record], Record]:
    if isinstance(fields, list):
        keep = {str(f) for f in fields}
        return lambda r: {k: v for k, v in r.items() if k in keep}
    if isinstance(fields, Mapping):
        chosen = {k for k, v in fields.items() if v}
        dropped = {k for k, v in fields.items() if not v}
        if chosen:
            return lambda r: {k: v for k, v in r.items() if k in chosen}
        return lambda r: {k: v for k, v in r.items() if k not in dropped}
    raise BadFilter(f"The fields {json.dumps(fields)} are not valid")


def _js_string(value: object) -> str:
    """``String(value)`` in JavaScript, for the values a JSON record holds."""
    if value is MISSING:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, Mapping):
        return "[object Object]"
    return str(value)


def juggler_like(clause: Mapping[str, Any], record: Any) -> bool:
    """``like``/``nlike``/``ilike``/``nilike`` as juggler's memory connector decides them.

    juggler turns the pattern into a regular expression by replacing ``%`` with ``.*``
    and ``_`` with ``.`` and nothing else (its escaping step is undone by its own
    loop), searches ``String(value)`` with it, and tests each element of a list.
    """
    ((key, condition),) = clause.items()
    ((op, pattern),) = condition.items()
    regex = JsRegex(pattern.replace("%", ".*").replace("_", "."), "i" if "ilike" in op else "")
    negated = str(op).startswith("n")
    value = get_path(record, tuple(key.split(".")))
    if isinstance(value, list):  # some element passes (nlike: some element does not match)
        return any(regex.search(_js_string(v)) != negated for v in value)
    return regex.search(_js_string(value)) != negated


class Collection:
    """A model's records with LoopBack query semantics; ``types`` marks date fields etc.

    ``order`` says how ids compare and how nulls sort (default: the memory connector).
    """

    def __init__(
        self,
        records: list[Record],
        types: Mapping[FieldPath, FieldType],
        order: ServerOrder = ORDERS["memory"],
    ) -> None:
        self.records = records
        self.types = dict(types)
        self.order = order
        self._sorted: dict[str, _Sorted] = {}
        self._predicates: dict[str, Callable[[Any], bool]] = {}
        self._keyed: list[Record] | None = None

    def add(self, record: Record) -> None:
        self.records.append(record)
        self._sorted.clear()
        self._keyed = None

    def replace(self, records: list[Record]) -> None:
        """Every record at once (in this order), instead of the ones held."""
        self.records[:] = records
        self._sorted.clear()
        self._keyed = None

    def remove(self, key: str) -> None:
        self.records[:] = [r for r in self.records if r.get("id") != key]
        self._sorted.clear()
        self._keyed = None

    def _rows(self) -> list[Record]:
        """The records as queries see them: with the id's collation key beside it."""
        to_key = self.order.ids
        if to_key is None:
            return self.records
        if self._keyed is None:
            self._keyed = [
                {**r, _ID_KEY: to_key(r["id"])} if isinstance(r.get("id"), str) else r
                for r in self.records
            ]
        return self._keyed

    def _collated(self, where: Any) -> Any:
        """``where`` with conditions on ``id`` moved to the collation key."""
        to_key = self.order.ids
        if to_key is None or not isinstance(where, Mapping):
            return where
        out: dict[str, Any] = {}
        for key, clause in where.items():
            if key in ("and", "or") and isinstance(clause, list):
                out[key] = [self._collated(c) for c in clause]
            elif key == "id":
                out[_ID_KEY] = _map_strings(clause, to_key)
            else:
                out[key] = clause
        return out

    def by_id(self, key: str) -> Record | None:
        for record in self.records:
            if record.get("id") == key:
                return record
        return None

    def matcher(self, where: object) -> Callable[[Any], bool]:
        where = self._collated(where)
        if where is None:
            return lambda r: True
        if not isinstance(where, Mapping):
            raise BadFilter(f"The where clause {json.dumps(where)} is not an object")
        text = json.dumps(where, sort_keys=True)
        found = self._predicates.get(text)
        if found is None:
            from ..evaluator import predicate
            from ..where import from_where

            try:
                self._check_null_on_lists(where)
                tree = from_where(where, types=self.types)
                self._check_server_only(tree)
                found = predicate(tree, types=self.types, judge=juggler_like)
            except (QwhereError, ValueError, TypeError) as exc:
                raise BadFilter(f"Invalid where clause: {exc}") from None
            if len(self._predicates) > 512:
                self._predicates.clear()
            self._predicates[text] = found
        return found

    def _check_server_only(self, tree: Expr) -> None:
        for node in walk(tree):
            if isinstance(node, ServerClause):
                ((key, _),) = node.where.items()
                kind = self.types.get(tuple(key.split(".")))
                if kind not in (None, FieldType.STRING, FieldType.STRING_LIST, FieldType.ENUM):
                    raise BadFilter(
                        f"Invalid where clause: the demo service decides like only on text "
                        f"fields, not on {key}"
                    )

    def _check_null_on_lists(self, where: object) -> None:
        """juggler fails on ``{"tags": null}`` for a list property; so does the demo."""
        if isinstance(where, list):
            for item in where:
                self._check_null_on_lists(item)
        if not isinstance(where, Mapping):
            return
        for key, clause in where.items():
            if key in ("and", "or"):
                self._check_null_on_lists(clause)
            elif clause is None and self.types.get(tuple(str(key).split("."))) is (
                FieldType.STRING_LIST
            ):
                raise BadFilter("Cannot read properties of null (reading 'neq')")

    def ordered(self, order: object) -> _Sorted:
        if order is None:
            order = "id"
        keys = parse_order(order)
        if self.order.ids is not None:
            keys = [(_ID_KEY if k == "id" else k, d) for k, d in keys]
        cache_key = json.dumps(keys)
        found = self._sorted.get(cache_key)
        if found is None:
            rows = list(self._rows())
            nulls = self.order.nulls
            for key, descending in reversed(keys):
                dated = self.types.get(tuple(key.split("."))) is FieldType.DATETIME
                to_key = _sort_key(dated, nulls)
                rows.sort(key=lambda r, k=key, f=to_key: f(_get(r, k)), reverse=descending)  # type: ignore[misc]
            found = _Sorted(rows, keys[0], self.types, nulls)
            self._sorted[cache_key] = found
        return found

    def find(self, query: object) -> list[Record]:
        if query is None:
            query = {}
        if not isinstance(query, Mapping):
            raise BadFilter(f"The query filter {json.dumps(query)} is not an object")
        accept = self.matcher(query.get("where"))
        skip = _non_negative(query.get("skip", query.get("offset", 0)) or 0, "skip")
        limit = _non_negative(query.get("limit", 0) or 0, "limit")
        select = _select(query["fields"]) if query.get("fields") is not None else None
        out: list[Record] = []
        wanted = skip + limit if limit else None
        ordered = self.ordered(query.get("order"))
        for record in ordered.candidates(query.get("where")):
            if accept(record):
                out.append(record)
                if wanted is not None and len(out) >= wanted:
                    break
        out = out[skip:]
        if self.order.ids is not None:
            out = [{k: v for k, v in r.items() if k != _ID_KEY} for r in out]
        return [select(r) for r in out] if select is not None else out

    def count(self, where: object) -> int:
        accept = self.matcher(where)
        return sum(1 for r in self._rows() if accept(r))


def _map_strings(clause: Any, to_key: Callable[[str], str]) -> Any:
    if isinstance(clause, str):
        return to_key(clause)
    if isinstance(clause, list):
        return [_map_strings(c, to_key) for c in clause]
    if isinstance(clause, Mapping):
        return {k: _map_strings(v, to_key) for k, v in clause.items()}
    return clause


_Range = tuple[float, float]  # inclusive bounds on a date, as POSIX seconds


def _date_range(where: object, field: str, nulls: str = "memory") -> _Range | None:
    """Bounds ``where`` implies on the date ``field`` (None: no bound is implied).

    Sound, not complete: every record the clause can select has its date inside
    the range (a clause on a date never selects a null or missing date).
    """
    if not isinstance(where, Mapping):
        return None
    ranges: list[_Range] = []
    for key, clause in where.items():
        found: _Range | None = None
        if key == "and" and isinstance(clause, list):
            parts = [_date_range(c, field, nulls) for c in clause]
            found = _intersect([p for p in parts if p is not None])
        elif key == "or" and isinstance(clause, list) and clause:
            parts = [_date_range(c, field, nulls) for c in clause]
            if all(p is not None for p in parts):
                found = (min(p[0] for p in parts if p), max(p[1] for p in parts if p))
        elif key == field:
            found = _condition_range(clause, nulls)
        if found is not None:
            ranges.append(found)
    return _intersect(ranges)


def _intersect(ranges: list[_Range]) -> _Range | None:
    if not ranges:
        return None
    return (max(r[0] for r in ranges), min(r[1] for r in ranges))


def _seconds(value: object) -> float | None:
    moment = read_datetime(value) if isinstance(value, str) else None
    return None if moment is None else moment.timestamp()


def _condition_range(clause: object, nulls: str = "memory") -> _Range | None:
    inf = float("inf")
    if clause is None:  # null or missing: where the connector sorts them
        return {"high": (inf, inf), "low": (-inf, -inf)}.get(nulls, (-inf, 0.0))
    if isinstance(clause, str):
        at = _seconds(clause)
        return None if at is None else (at, at)
    if not isinstance(clause, Mapping) or len(clause) != 1:
        return None
    ((op, value),) = clause.items()
    if op == "between" and isinstance(value, list) and len(value) == 2:
        low, high = _seconds(value[0]), _seconds(value[1])
        return None if low is None or high is None else (low, high)
    at = _seconds(value)
    if at is None:
        return None
    return {
        "lt": (-inf, at),
        "lte": (-inf, at),
        "gt": (at, inf),
        "gte": (at, inf),
        "eq": (at, at),
    }.get(op)


class _Sorted:
    """Records in one order; when the first key is a date, a clause bounding that date
    is answered from the matching slice only (binary search), not from every record."""

    def __init__(
        self,
        rows: list[Record],
        first: tuple[str, bool],
        types: Mapping[FieldPath, FieldType],
        nulls: str = "memory",
    ) -> None:
        self.rows = rows
        self.field, self.descending = first
        self.nulls = nulls
        self.positions: list[float] | None = None
        if types.get(tuple(self.field.split("."))) is FieldType.DATETIME:
            positions: list[float] = []
            for row in rows:
                value = _get(row, self.field)
                if (value is _MISSING or value is None) and nulls != "memory":
                    at = float("inf") if nulls == "high" else float("-inf")
                elif value is _MISSING:
                    at = float("-inf")
                elif value is None:
                    at = 0.0
                else:
                    seconds = _seconds(value)
                    if seconds is None:
                        return  # not a date everywhere: no shortcut
                    at = seconds
                positions.append(-at if self.descending else at)
            self.positions = positions

    def candidates(self, where: object) -> list[Record]:
        if self.positions is None:
            return self.rows
        bounds = _date_range(where, self.field, self.nulls)
        if bounds is None:
            return self.rows
        low, high = (-bounds[1], -bounds[0]) if self.descending else bounds
        return self.rows[bisect_left(self.positions, low) : bisect_right(self.positions, high)]
