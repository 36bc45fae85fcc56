"""LoopBack ``where`` JSON -> tree (the seed's ``db_filter``), refusing what it cannot mean.

``from_where`` reads what LoopBack's engine reads — ``and``/``or`` (lists or
objects with numbered keys), implicit conjunction of keys, plain equality,
``eq neq gt gte lt lte inq nin between regexp`` — into a tree on server paths,
so a raw clause can be combined with other filters, explained, and evaluated
on the client. ``like``, ``nlike``, ``ilike`` and ``nilike``, whose meaning only the
server knows (its collation, its escaping), are kept as
:class:`~qwhere.tree.ServerClause` leaves and sent unchanged. Anything the engine
would treat in a way the tree cannot say (several operators in one object,
``exists``, ``nor``, an object as a value, ...) raises
:class:`~qwhere.errors.UnsupportedWhereError` naming the problem; nothing is
dropped silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from .errors import ArgumentError, UnsupportedWhereError, clip
from .resolve import Types
from .schema import FieldType
from .tree import (
    FALSE,
    MAX_DEPTH,
    PROTOTYPE_KEYS,
    TRUE,
    Between,
    Compare,
    Expr,
    FieldPath,
    In,
    Match,
    Not,
    ServerClause,
    all_of,
    any_of,
    check_text,
    derived,
    prototype_key_message,
)
from .values import Scalar, check_scalar

__all__ = ["MAX_WHERE_DEPTH", "from_where"]

_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_KNOWN = frozenset(
    {
        "eq",
        "neq",
        "gt",
        "gte",
        "lt",
        "lte",
        "inq",
        "nin",
        "between",
        "regexp",
        "like",
        "nlike",
        "ilike",
        "nilike",
        "exists",
        "near",
        "options",
        "and",
        "or",
        "nor",
        "not",
    }
)
#: Operators only the server can judge: kept as they are, sent unchanged (server-only).
#: Their meaning depends on the connector's collation and escaping, so qwhere never
#: evaluates them; a plan refuses them where the client would need their meaning.
SERVER_ONLY = frozenset({"like", "nlike", "ilike", "nilike"})
_REGEX_LITERAL = re.compile(r"^/(.*)/([a-z]*)$", re.DOTALL)
_HINTS = {
    "like": "use regexp (qwhere cannot tell how LoopBack's like wildcards translate)",
    "nlike": "write not (field ~ /.../) in qwhere",
    "ilike": "use regexp with the i flag",
    "nilike": "write not (field ~ /.../i) in qwhere",
    "exists": "LoopBack's memory engine selects nothing for exists; use {neq: null} or null",
    "near": "geo queries are not supported",
    "options": "LoopBack ignores options beside regexp; put flags in the pattern: /x/i",
}


def _show(value: object) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        text = f"<a {type(value).__name__}>"
    return clip(text, 200)


def _sequence(value: object, where: str) -> list[Any]:
    """A JSON list, or an object with keys "0", "1", ... (LoopBack accepts both)."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping) and all(isinstance(k, str) for k in value):
        keys = list(value)
        if keys == [str(i) for i in range(len(keys))]:
            return [value[k] for k in keys]
    raise UnsupportedWhereError(f"{where} must be a list, not {_show(value)}")


def _path(key: str) -> FieldPath:
    if key in ("nor", "not") or key.startswith("$"):
        raise UnsupportedWhereError(
            f"{key!r} is not supported by LoopBack's engine (it selects nothing); "
            "write the condition with and/or and negated operators"
        )
    parts = tuple(key.split("."))
    if any(not p for p in parts):
        raise UnsupportedWhereError(f"empty part in field name {clip(repr(key))}")
    for part in parts:
        if part in PROTOTYPE_KEYS:
            raise UnsupportedWhereError(prototype_key_message(part))
    try:
        check_text(key, "a field name")
    except ArgumentError as exc:
        raise UnsupportedWhereError(str(exc)) from None
    if any(p.isdigit() for p in parts):
        raise UnsupportedWhereError(
            f"{key!r}: LoopBack reads a number in a path as a position in a list, which qwhere "
            "cannot express; use tags any [...] / all [...]"
        )
    return parts


def _value(value: object, path: FieldPath, types: Types) -> Scalar:
    if isinstance(value, Mapping | list):
        raise UnsupportedWhereError(
            f"{'.'.join(path)}: {_show(value)} is not a value LoopBack compares with"
            + (
                f" (query nested fields as {'.'.join(path)}.<name>)"
                if isinstance(value, Mapping)
                else ""
            )
        )
    if isinstance(value, float) and value != value:
        raise UnsupportedWhereError(f"{'.'.join(path)}: NaN is not a value")
    if types.get(path) is FieldType.DATETIME and value is not None:
        return _server_date(value, path)
    try:
        return check_scalar(value)
    except (TypeError, ValueError) as exc:
        raise UnsupportedWhereError(f"{'.'.join(path)}: {exc}") from None


def _server_date(value: object, path: FieldPath) -> datetime:
    """A date as LoopBack reads it: ISO text, or epoch milliseconds.

    Text without an offset is read as UTC (JavaScript reads a bare date as UTC; a server
    is assumed to run in UTC for a date-time without offset).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: {clip(repr(value))} is not a date"
            ) from None
    if not isinstance(value, str):
        raise UnsupportedWhereError(f"{'.'.join(path)}: {clip(repr(value))} is not a date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UnsupportedWhereError(
            f"{'.'.join(path)}: {clip(repr(value))} is not an ISO-8601 date"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _regex(pattern: object, path: FieldPath) -> Match:
    if not isinstance(pattern, str):
        raise UnsupportedWhereError(f"{'.'.join(path)}: regexp must be a string")
    literal = _REGEX_LITERAL.match(pattern)
    if literal is not None:
        if len(path) > 1:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: on a dotted path LoopBack reads {clip(repr(pattern))} as a "
                "plain pattern, slashes included; drop the slashes and flags"
            )
        body, flags = literal.group(1), literal.group(2)
        flags = flags.replace("g", "")  # global matching does not change what matches
    else:
        body, flags = pattern, ""
    try:
        return Match(path, body, flags)
    except (TypeError, ValueError) as exc:
        raise UnsupportedWhereError(f"{'.'.join(path)}: {exc}") from None


def _condition(path: FieldPath, clause: object, types: Types) -> Expr:
    if not isinstance(clause, Mapping):
        if isinstance(clause, list):
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: comparing with a whole list {_show(clause)} is not "
                "supported; use inq"
            )
        return Compare(path, "==", _value(clause, path, types))
    if len(clause) != 1:
        raise UnsupportedWhereError(
            f"{'.'.join(path)}: {_show(clause)} has {len(clause)} operators; LoopBack applies "
            'only the first. Write each as its own condition inside {"and": [...]}'
        )
    ((op, arg),) = clause.items()
    if op == "eq":
        if len(path) > 1:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: LoopBack's engine selects nothing for eq on a dotted path; "
                f'write {{"{".".join(path)}": value}}'
            )
        return Compare(path, "==", _value(arg, path, types))
    if op == "neq":
        return Compare(path, "!=", _value(arg, path, types))
    if op in _ORDER:
        return Compare(path, _ORDER[op], _value(arg, path, types))  # type: ignore[arg-type]
    if op in ("inq", "nin"):
        values = tuple(_value(v, path, types) for v in _sequence(arg, f"{'.'.join(path)}.{op}"))
        if types.get(path) is FieldType.DATETIME:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: LoopBack's {op} never matches dates; use or/and of eq/neq"
            )
        if op == "nin" and types.get(path) is FieldType.STRING_LIST:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: on a list field LoopBack's nin selects records with *some* "
                "element outside the list, which qwhere cannot express; use tags none [...]"
            )
        node = In(path, values)
        return node if op == "inq" else Not(node)
    if op == "between":
        bounds = _sequence(arg, f"{'.'.join(path)}.between")
        if len(bounds) != 2:
            raise UnsupportedWhereError(f"{'.'.join(path)}: between needs exactly 2 values")
        return Between(path, _value(bounds[0], path, types), _value(bounds[1], path, types))
    if op == "regexp":
        if types.get(path) is FieldType.DATETIME:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: LoopBack fails on a regexp against a date (a server error)"
            )
        return _regex(arg, path)
    if op in SERVER_ONLY:
        if not isinstance(arg, str):
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: {op} takes a pattern string, not {_show(arg)}"
            )
        return ServerClause({".".join(path): {op: arg}})
    hint = _HINTS.get(op)
    if hint is None and op not in _KNOWN:
        hint = f'to compare a nested field write {{"{".".join(path)}.{op}": ...}}'
    raise UnsupportedWhereError(
        f"{'.'.join(path)}: operator {op!r} is not supported" + (f"; {hint}" if hint else "")
    )


#: How deep ``and``/``or`` may nest in a where clause :func:`from_where` reads: more than in
#: a filter (:data:`~qwhere.tree.MAX_DEPTH`), so every plan's clause reads back.
MAX_WHERE_DEPTH = MAX_DEPTH + 8


def from_where(where: Mapping[str, Any], *, types: Types | None = None) -> Expr:
    """Read a LoopBack where clause into a tree on server paths.

    ``types`` (server path -> field type) lets ISO strings on date fields become dates.
    """
    if types is not None and not isinstance(types, Mapping):
        raise ArgumentError(f"types must be a mapping of field paths to FieldType, not {types!r}")
    with derived():
        return _read(where, types or {}, 1)


def _read(where: Mapping[str, Any], types: Types, depth: int) -> Expr:
    if not isinstance(where, Mapping):
        raise UnsupportedWhereError(f"a where clause is a JSON object, not {_show(where)}")
    if depth > MAX_WHERE_DEPTH:
        raise UnsupportedWhereError(
            f"the where clause nests and/or more than {MAX_WHERE_DEPTH} levels deep"
        )
    parts: list[Expr] = []
    for key, clause in where.items():
        if not isinstance(key, str):
            raise UnsupportedWhereError(f"where keys are field names, not {_show(key)}")
        if key in ("and", "or"):
            items = _sequence(clause, key)
            inner = [_read(item, types, depth + 1) for item in items]
            if key == "and":
                parts.append(all_of(*inner) if inner else TRUE)
            else:
                parts.append(any_of(*inner) if inner else FALSE)
            continue
        parts.append(_condition(_path(key), clause, types))
    if not parts:
        return TRUE
    return all_of(*parts)
