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

With ``types``, values are converted as juggler converts them for a model's declared
(top-level) properties before it runs the query (``ModelUtils._coerce``): ``"true"`` and
``"1"`` on a boolean field are ``true``, ``"2"`` on a number field is ``2``, ``2.5`` on a
string field is ``"2.5"``, and an object with keys ``"0"``, ``"1"``, ... is a list. A
dotted path is no declared property, so juggler converts nothing there: an object for a
list selects nothing (``inq``), and a value of another type than the declared one is
refused (the memory connector compares it with JavaScript's loose ``==``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
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


def _index_keyed(value: object) -> list[Any] | None:
    """The list an object with keys "0", "1", ... (in any order) stands for, or None.

    juggler's ``coerceArray``: every key from 0 to n - 1, nothing else, at least one.
    """
    if not isinstance(value, Mapping) or not value:
        return None
    keys = {str(i) for i in range(len(value))}
    if set(value) != keys:
        return None
    return [value[str(i)] for i in range(len(value))]


def _sequence(value: object, where: str) -> list[Any]:
    """A JSON list, or an object with keys "0", "1", ... (juggler turns it into a list)."""
    if isinstance(value, list):
        return value
    items = _index_keyed(value)
    if items is None:
        raise UnsupportedWhereError(f"{where} must be a list, not {_show(value)}")
    return items


def _declared(path: FieldPath, types: Types) -> bool:
    """Whether ``path`` is a property the model declares (``types`` stands for the model: a
    top-level path in it, or the first part of a dotted one); a dotted path never is one."""
    return len(path) == 1 and (path in types or any(key[0] == path[0] for key in types))


_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_JS_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_JS_RADIX = re.compile(r"0([xXoObB])([0-9A-Fa-f]+)")
_RADIX = {"x": 16, "o": 8, "b": 2}
_JS_TRIM = re.compile(f"^[{_JS_SPACE}]+|[{_JS_SPACE}]+$")


def _js_number(text: str) -> int | float | None:
    """JavaScript's ``Number(text)`` when it is a finite number, else None."""
    body = _JS_TRIM.sub("", text)
    if not body:
        return 0
    radix = _JS_RADIX.fullmatch(body)
    if radix is not None:
        try:
            return _plain_number(float(int(radix.group(2), _RADIX[radix.group(1).lower()])))
        except (ValueError, OverflowError):
            return None
    if _JS_DECIMAL.fullmatch(body) is None:
        return None
    number = float(body)
    return _plain_number(number) if number not in (float("inf"), float("-inf")) else None


def _plain_number(number: float) -> int | float:
    if number.is_integer() and abs(number) < 2**53:
        return int(number)
    return number


def _js_number_text(number: int | float) -> str:
    """JavaScript's ``String(number)`` (Number::toString) for a finite number."""
    value = float(number)
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    sign = "-" if value < 0 else ""
    digits_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()[1:]
    digits = "".join(map(str, digits_tuple))
    k = len(digits)
    n = k + int(exponent)
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * -n + digits
    e = n - 1
    mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _coerced(value: object, path: FieldPath, kind: FieldType) -> object:
    """``value`` as juggler converts it for a declared property of type ``kind``."""
    if value is None:
        return None
    if kind is FieldType.NUMBER:
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, str):
            number = _js_number(value)
            if number is None:
                raise UnsupportedWhereError(
                    f"{'.'.join(path)}: {value!r} is not a number, and LoopBack would compare "
                    "the number field with it as text"
                )
            return number
        return value
    if kind is FieldType.BOOL:
        if isinstance(value, str):
            return {"true": True, "1": True, "false": False, "0": False}.get(value, value != "")
        if isinstance(value, int | float):
            return bool(value)
        return value
    if kind in (FieldType.STRING, FieldType.ENUM, FieldType.STRING_LIST):
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return _js_number_text(value)
        return value
    if kind is FieldType.DATETIME and isinstance(value, bool):
        return int(value)  # new Date(true): 1 ms after the epoch
    return value


_JSON_KINDS: dict[FieldType, tuple[type, ...]] = {
    FieldType.STRING: (str,),
    FieldType.ENUM: (str,),
    FieldType.STRING_LIST: (str,),
    FieldType.NUMBER: (int, float),
    FieldType.BOOL: (bool,),
}


def _check_loose(value: object, path: FieldPath, kind: FieldType | None) -> None:
    """On a path juggler does not convert, refuse a value of another type than the field's."""
    if kind is None or value is None:
        return
    allowed = _JSON_KINDS.get(kind)
    if allowed is None:
        return
    if (isinstance(value, bool) and bool not in allowed) or not isinstance(value, allowed):
        raise UnsupportedWhereError(
            f"{'.'.join(path)}: {_show(value)} is not {_KIND_WORDS[kind]}, and on a dotted path "
            'LoopBack converts nothing: it compares with JavaScript\'s loose == (5 == "5.0"); '
            f"write the value as {_KIND_WORDS[kind]}"
        )


_KIND_WORDS = {
    FieldType.STRING: "a string",
    FieldType.ENUM: "a string",
    FieldType.STRING_LIST: "a string",
    FieldType.NUMBER: "a number",
    FieldType.BOOL: "true or false",
}


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
    kind = types.get(path)
    if kind is not None and not isinstance(value, Mapping | list):
        if _declared(path, types):
            value = _coerced(value, path, kind)
        else:
            _check_loose(value, path, kind)
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
        if not _declared(path, types):
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: on a dotted path LoopBack converts nothing and compares "
                f"{_show(value)} with the stored date as text (or not at all), which qwhere "
                "cannot express"
            )
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


def _regex(pattern: object, path: FieldPath, types: Types) -> Match:
    if not isinstance(pattern, str):
        raise UnsupportedWhereError(f"{'.'.join(path)}: regexp must be a string")
    literal = _REGEX_LITERAL.match(pattern)
    if literal is not None:
        if len(path) > 1:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: on a dotted path LoopBack reads {clip(repr(pattern))} as a "
                "plain pattern, slashes included; drop the slashes and flags"
            )
        if not _declared(path, types):
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: LoopBack reads {pattern!r} as /.../flags only for a "
                "property the model declares (elsewhere as a plain pattern, slashes "
                "included); pass the model's types= or drop the slashes and flags"
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
        if not _declared(path, types):
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: LoopBack's engine applies eq only to a property the model "
                "declares (elsewhere it selects nothing); pass the model's types= or write "
                f'{{"{".".join(path)}": value}}'
            )
        return Compare(path, "==", _value(arg, path, types))
    if op == "neq":
        return Compare(path, "!=", _value(arg, path, types))
    if op in _ORDER:
        value = _value(arg, path, types)
        if value is None:
            # the memory connector's compare() calls null and a missing value equal to null,
            # and anything else unordered: gte/lte null select null, gt/lt nothing
            return Compare(path, "==", None) if op in ("gte", "lte") else FALSE
        return Compare(path, _ORDER[op], value)  # type: ignore[arg-type]
    if op in ("inq", "nin"):
        if not isinstance(arg, list) and not _declared(path, types) and _index_keyed(arg):
            # juggler makes a list of it only for a declared property: here the memory
            # connector reads its missing length, and no value is in it
            if op == "inq":
                return FALSE
            if types.get(path) in (None, FieldType.STRING_LIST):
                raise UnsupportedWhereError(
                    f"{'.'.join(path)}: LoopBack's nin with an object selects every record "
                    "but those where the field is an empty list, which qwhere cannot express "
                    "unless types= says the field holds one value"
                )
            return TRUE
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
        if op == "nin" and path not in types:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: on a list LoopBack's nin selects records with *some* element "
                "outside the list (not those with none in it, nor an empty list), and without "
                "its type qwhere cannot tell whether the field holds a list; pass types= "
                "(a field that holds one value), or use none [...] for a list"
            )
        node = In(path, values)
        return node if op == "inq" else Not(node)
    if op == "between":
        bounds = _sequence(arg, f"{'.'.join(path)}.between")
        if len(bounds) != 2:
            raise UnsupportedWhereError(f"{'.'.join(path)}: between needs exactly 2 values")
        low, high = _value(bounds[0], path, types), _value(bounds[1], path, types)
        if low is None or high is None:  # gte and lte, each as above
            return Compare(path, "==", None) if low is None and high is None else FALSE
        return Between(path, low, high)
    if op == "regexp":
        if types.get(path) is FieldType.DATETIME:
            raise UnsupportedWhereError(
                f"{'.'.join(path)}: LoopBack fails on a regexp against a date (a server error)"
            )
        return _regex(arg, path, types)
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

    ``types`` (server path -> field type) are the model's: values are converted as juggler
    converts them for its declared properties (ISO strings and epoch milliseconds on date
    fields become dates, ``"2"`` on a number field ``2``, ...). Without a field's type,
    values are read as they are written, and ``nin`` is refused (on a list it selects
    records with *some* element outside the list).
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
