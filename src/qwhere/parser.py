"""Text -> tree: the Lark parser (LALR, grammar/filter.lark) and its Transformer.

The parser is built once per process (from a per-user cache when possible) and
transforms while it parses. ``parse`` caches its results: trees are immutable,
and relative times (``now - 7d``) stay relative in them, so a cached tree never
freezes the clock. Every failure is a :class:`~qwhere.errors.FilterSyntaxError`
(or, with a schema, another :class:`~qwhere.errors.FilterError`) pointing at the
fault; no Lark exception escapes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Callable
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import FilterError, FilterSyntaxError, FilterValueError
from .tree import (
    FALSE,
    TRUE,
    Between,
    Compare,
    Exists,
    Expr,
    FieldPath,
    In,
    Match,
    Not,
    Quantified,
    all_of,
    any_of,
)
from .values import UNIT_SECONDS, RelativeTime, Scalar

if TYPE_CHECKING:
    from lark import Lark, Token

    from .schema import Schema

__all__ = ["grammar_path", "grammar_text", "parse"]

_PARSE_CACHE_SIZE = 1024


def grammar_path() -> Path:
    """The shipped grammar: inside the installed package, or the checkout's ``grammar/``."""
    packaged = resources.files("qwhere").joinpath("grammar", "filter.lark")
    if packaged.is_file():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[2] / "grammar" / "filter.lark"
    if checkout.is_file():  # editable installs do not see hatchling's force-include
        return checkout
    raise FileNotFoundError("qwhere's grammar (grammar/filter.lark) is missing from the install")


@lru_cache(maxsize=1)
def grammar_text() -> str:
    return grammar_path().read_text(encoding="utf-8")


def _cache_file(text: str) -> str | None:
    """A per-user parser cache file (never the shared temp dir; lark-parser/lark#1628)."""
    import lark

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = Path(base) / "qwhere"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        if folder.stat().st_uid != os.getuid() or folder.stat().st_mode & 0o022:
            return None
    except OSError:
        return None
    digest = hashlib.sha256(f"{lark.__version__}\0{text}".encode()).hexdigest()[:16]
    return str(folder / f"filter-{digest}.lark.cache")


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    """The process-wide LALR parser (built once; loaded from the per-user cache if present)."""
    from lark import Lark

    text = grammar_text()
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": "contextual",
        "maybe_placeholders": False,
        "transformer": _make_transformer(),
    }
    cache = _cache_file(text) if os.environ.get("QWHERE_NO_PARSER_CACHE") is None else None
    if cache is not None:
        try:
            return Lark(text, cache=cache, **options)
        except (OSError, EOFError, ValueError):
            with contextlib.suppress(OSError):  # a corrupt cache file: rebuild without it
                os.unlink(cache)
    return Lark(text, **options)


def build_strict_parser() -> Lark:
    """The grammar built with ``strict=True`` (needs ``interegular``; used by the tests)."""
    from lark import Lark

    return Lark(grammar_text(), parser="lalr", lexer="contextual", strict=True)


# ---------------------------------------------------------------------------------------------
# tokens -> values

_ESCAPES = {
    '"': '"',
    "'": "'",
    "\\": "\\",
    "/": "/",
    "n": "\n",
    "t": "\t",
    "r": "\r",
    "b": "\b",
    "f": "\f",
    "0": "\0",
}
_ESCAPE_RE = re.compile(r"\\(u\{[0-9A-Fa-f]{1,6}\}|u[0-9A-Fa-f]{4}|.)", re.DOTALL)
_REL_RE = re.compile(r"(now|today)\s*([+-])\s*(\d+)\s*([smhdw])", re.IGNORECASE)


class _Fault(Exception):
    """A problem found while transforming; re-raised at the top with the token's position."""

    def __init__(
        self, message: str | FilterError, token: Token, kind: type[FilterError] = FilterValueError
    ):
        super().__init__(str(message))
        self.error = message if isinstance(message, FilterError) else kind(message)
        self.token = token

    def located(self, text: str) -> FilterError:
        tok = self.token
        return self.error.located(text, tok.line or 1, tok.column or 1, str(tok))


def _unquote(token: Token) -> str:
    body = str(token)[1:-1]

    def replace(m: re.Match[str]) -> str:
        esc = m.group(1)
        if esc.startswith("u{"):
            code = int(esc[2:-1], 16)
        elif esc.startswith("u") and len(esc) == 5:
            code = int(esc[1:], 16)
        elif esc in _ESCAPES:
            return _ESCAPES[esc]
        else:
            raise _Fault(f"unknown escape \\{esc} in a string", token, FilterSyntaxError)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise _Fault(f"\\u escape {esc[1:]!r} is not a character", token, FilterSyntaxError)
        return chr(code)

    return _ESCAPE_RE.sub(replace, body)


def _number(token: Token) -> int | float:
    text = str(token)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    result = float(text)
    if result in (float("inf"), float("-inf")):
        raise _Fault(f"number {text} is too large", token)
    return result


def _datetime(token: Token) -> datetime:
    try:
        return datetime.fromisoformat(str(token))
    except ValueError:
        raise _Fault(f"{token} is not a valid date and time", token) from None


def _date(token: Token) -> date:
    try:
        return date.fromisoformat(str(token))
    except ValueError:
        raise _Fault(f"{token} is not a valid date", token) from None


def _relative(token: Token) -> RelativeTime:
    m = _REL_RE.fullmatch(str(token))
    assert m is not None
    anchor, sign, amount, unit = m.group(1).lower(), m.group(2), int(m.group(3)), m.group(4)
    seconds = amount * UNIT_SECONDS[unit.lower()] * (-1 if sign == "-" else 1)
    try:
        return RelativeTime(anchor, seconds)
    except ValueError as exc:
        raise _Fault(str(exc), token) from None


_VALUE: dict[str, Callable[[Token], Scalar]] = {
    "NAME": str,
    "STRING": _unquote,
    "NUMBER": _number,
    "DATE": _date,
    "DATETIME": _datetime,
    "RELATIVE": _relative,
    "NOW": lambda _t: RelativeTime("now"),
    "TODAY": lambda _t: RelativeTime("today"),
    "TRUE": lambda _t: True,
    "FALSE": lambda _t: False,
    "NULL": lambda _t: None,
}


class _Field:
    """A field as written: its path and where it starts (for schema errors)."""

    __slots__ = ("path", "token")

    def __init__(self, path: FieldPath, token: Token) -> None:
        self.path = path
        self.token = token


class _Value:
    __slots__ = ("token", "value")

    def __init__(self, value: Scalar, token: Token) -> None:
        self.value = value
        self.token = token


#: The schema of the parse in progress (the transformer runs inside Lark's parser).
_SCHEMA: ContextVar[Schema | None] = ContextVar("qwhere_parse_schema", default=None)


def _make_transformer() -> Any:
    from lark import Transformer

    class BuildTree(Transformer):  # type: ignore[type-arg]
        """One method per grammar rule; each returns a tree node (or a piece of one)."""

        def _leaf(self, build: Callable[[], Expr], field: _Field, *values: _Value) -> Expr:
            try:
                node = build()
            except (TypeError, ValueError) as exc:
                raise _Fault(str(exc), values[-1].token if values else field.token) from None
            schema = _SCHEMA.get()
            if schema is None:
                return node
            try:
                return schema.bind_leaf(node)
            except FilterError as exc:
                culprit = field.token
                if values and exc.value_index is not None:
                    culprit = values[min(exc.value_index, len(values) - 1)].token
                raise _Fault(exc, culprit) from None

        def or_expr(self, children: list[Expr]) -> Expr:
            return any_of(*children)

        def and_expr(self, children: list[Expr]) -> Expr:
            return all_of(*children)

        def not_(self, children: list[Expr]) -> Expr:
            return Not(children[0])

        def everything(self, _children: list[Token]) -> Expr:
            return TRUE

        def nothing(self, _children: list[Token]) -> Expr:
            return FALSE

        def field(self, children: list[Token]) -> _Field:
            parts: list[str] = []
            for tok in children:
                text = _unquote(tok) if tok.type == "STRING" else str(tok)
                if not text:
                    raise _Fault("a field name cannot be empty", tok, FilterSyntaxError)
                parts.extend(text.split("."))
            if any(not p for p in parts):
                raise _Fault("empty part in a dotted field name", children[0], FilterSyntaxError)
            return _Field(tuple(parts), children[0])

        def value(self, children: list[Token]) -> _Value:
            tok = children[0]
            return _Value(_VALUE[tok.type](tok), tok)

        def items(self, children: list[_Value]) -> list[_Value]:
            return children

        def compare(self, c: list[Any]) -> Expr:
            field, op, val = c
            return self._leaf(lambda: Compare(field.path, op.value, val.value), field, val)

        def in_(self, c: list[Any]) -> Expr:
            field, vals = c
            return self._leaf(lambda: In(field.path, [v.value for v in vals]), field, *vals)

        def not_in(self, c: list[Any]) -> Expr:
            return Not(self.in_(c))

        def quantified(self, c: list[Any]) -> Expr:
            field, quant, vals = c
            return self._leaf(
                lambda: Quantified(field.path, quant.value.lower(), [v.value for v in vals]),
                field,
                *vals,
            )

        def match(self, c: list[Any]) -> Expr:
            field, tok = c
            if tok.type == "REGEX":
                text = str(tok)
                end = text.rindex("/")
                raw, flags = text[1:end], text[end + 1 :]
                pattern = _unescape_slashes(raw)
            else:
                pattern, flags = _unquote(tok), ""
            bad = sorted(set(flags) - set("ims"))
            if bad:
                raise _Fault(
                    f"unknown regular expression flag(s) {''.join(bad)!r}; allowed: i, m, s", tok
                )
            return self._leaf(lambda: Match(field.path, pattern, flags), field, _Value(None, tok))

        def between(self, c: list[Any]) -> Expr:
            field, low, high = c
            return self._leaf(lambda: Between(field.path, low.value, high.value), field, low, high)

        def exists(self, c: list[Any]) -> Expr:
            return self._leaf(lambda: Exists(c[0].path), c[0])

        def not_exists(self, c: list[Any]) -> Expr:
            return Not(self.exists(c))

        def flag(self, c: list[Any]) -> Expr:
            field = c[0]
            return self._leaf(lambda: Compare(field.path, "==", True), field)

    return BuildTree()


def _unescape_slashes(raw: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append("/" if raw[i + 1] == "/" else raw[i : i + 2])
            i += 2
        else:
            out.append(raw[i])
            i += 1
    return "".join(out)


def parse(text: str, schema: Schema | None = None) -> Expr:
    """Parse filter text into a tree; with ``schema``, validate and normalise field names/values.

    >>> parse("status in [RUNNING, ERROR] and tags all [a, b]")
    And([In('status', ['RUNNING', 'ERROR']), Quantified('tags', 'all', ['a', 'b'])])
    """
    if not isinstance(text, str):
        raise TypeError(f"parse() takes filter text (str), not {type(text).__name__}")
    return _parse_cached(text, schema)


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(text: str, schema: Schema | None) -> Expr:
    if not text.strip():
        _fail(
            FilterSyntaxError,
            "empty filter; write a condition such as `status == RUNNING`",
            text,
            len(text) + 1,
            1,
            len(text) + 1,
        )
    from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken, VisitError

    parser = lark_parser()
    try:
        tree = _parse_with(parser, text, schema)
    except VisitError as exc:
        if isinstance(exc.orig_exc, _Fault):
            raise exc.orig_exc.located(text) from None
        raise  # pragma: no cover - a bug in the transformer, not bad input
    except _Fault as inner:
        raise inner.located(text) from None
    except UnexpectedToken as exc:
        _syntax_from_token(exc, text)
    except UnexpectedCharacters as exc:
        _syntax_from_chars(exc, text)
    except UnexpectedInput as exc:  # pragma: no cover - other lark input errors
        _fail(FilterSyntaxError, "invalid filter", text, 0, exc.line, exc.column, "")
    assert isinstance(tree, Expr)
    return tree


def _parse_with(parser: Lark, text: str, schema: Schema | None) -> Any:
    # The transformer runs inside the LALR parser (no parse tree is built); the schema
    # reaches it through a context variable, so one parser serves every schema.
    token = _SCHEMA.set(schema)
    try:
        return parser.parse(text)
    finally:
        _SCHEMA.reset(token)


# ---------------------------------------------------------------------------------------------
# error messages in words

_WORDS: dict[str, str] = {
    "CMP": "a comparison (==, !=, <, <=, >, >=)",
    "_IN": "'in'",
    "_NOT": "'not'",
    "QUANTIFIER": "'all', 'any' or 'none'",
    "_TILDE": "'~'",
    "_BETWEEN": "'between'",
    "_EXISTS": "'exists'",
    "_AND": "'and'",
    "_OR": "'or'",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "_LBRACK": "'['",
    "_RBRACK": "']'",
    "_COMMA": "','",
    "_DOT": "'.'",
    "REGEX": "a regular expression /.../",
    "$END": "the end of the filter",
}
_VALUE_TERMINALS = {"NUMBER", "DATE", "DATETIME", "RELATIVE", "NOW", "TODAY", "NULL"}
_FOUND: dict[str, str] = {
    "NAME": "word",
    "STRING": "string",
    "NUMBER": "number",
    "DATE": "date",
    "DATETIME": "date",
    "RELATIVE": "time",
    "NOW": "'now'",
    "TODAY": "'today'",
    "TRUE": "'true'",
    "FALSE": "'false'",
    "NULL": "'null'",
    "REGEX": "regular expression",
    "CMP": "operator",
    "QUANTIFIER": "keyword",
}


def _expected_words(accepts: set[str]) -> str:
    names = set(accepts)
    words: list[str] = []
    if names & _VALUE_TERMINALS:
        words.append("a value")
        names -= _VALUE_TERMINALS | {"NAME", "STRING", "TRUE", "FALSE"}
    elif "NAME" in names:
        words.append("a field name")
        names -= {"NAME", "STRING"}
        if names & {"TRUE", "FALSE", "_NOT", "_LPAR"}:
            words[-1] = "a condition"
            names -= {"TRUE", "FALSE", "_NOT", "_LPAR"}
    elif names >= {"REGEX", "STRING"}:
        words.append("a regular expression (/.../ or a quoted string)")
        names -= {"REGEX", "STRING"}
    order = [
        "CMP",
        "_IN",
        "_NOT",
        "QUANTIFIER",
        "_TILDE",
        "_BETWEEN",
        "_EXISTS",
        "_DOT",
        "_AND",
        "_OR",
        "_COMMA",
        "_RBRACK",
        "_RPAR",
        "_LBRACK",
        "_LPAR",
        "REGEX",
        "$END",
    ]
    words.extend(_WORDS[n] for n in order if n in names)
    words.extend(n.lower() for n in sorted(names - set(order)))  # pragma: no cover
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe(token_type: str, value: str) -> str:
    if token_type == "$END":
        return "end of filter"
    kind = _FOUND.get(token_type)
    if kind is None:
        return repr(value)
    return f"{kind} {value!r}" if not kind.startswith("'") else kind


def _syntax_from_token(exc: Any, text: str) -> NoReturn:
    token = exc.token
    accepts = set(getattr(exc, "accepts", None) or exc.expected)
    expected = _expected_words(accepts)
    if token.type == "$END":
        pos = len(text.rstrip())
        line = text.count("\n", 0, pos) + 1
        col = pos - (text.rfind("\n", 0, pos) + 1) + 1
        _fail(
            FilterSyntaxError,
            f"unexpected end of filter; expected {expected}",
            text,
            pos,
            line,
            col,
            "",
        )
    _fail(
        FilterSyntaxError,
        f"unexpected {_describe(token.type, str(token))}; expected {expected}",
        text,
        token.start_pos or 0,
        token.line or 1,
        token.column or 1,
        str(token),
    )


def _syntax_from_chars(exc: Any, text: str) -> NoReturn:
    pos = exc.pos_in_stream
    rest = text[pos:]
    fragment = re.match(r"\S+", rest)
    shown = fragment.group(0) if fragment else rest[:1]
    interactive = getattr(exc, "interactive_parser", None)
    allowed = set(interactive.accepts() if interactive is not None else exc.allowed or ())
    expected = _expected_words(allowed) if allowed else ""
    if rest[:1] in "\"'":
        message = "unterminated string"
    elif rest[:1] == "/":
        message = "unterminated regular expression"
    elif rest[:1] in "+-" and re.search(r"(?i)\b(?:now|today)\s*$", text[:pos]):
        message = "a relative time needs an amount and a unit: now - 7d (units s, m, h, d, w)"
        expected = ""
    elif rest[:1] == "=" and rest[:2] != "==":
        message, expected = "'=' is not an operator (write == to compare)", ""
    else:
        message = f"unexpected {shown[:20]!r}"
    if expected:
        message += f"; expected {expected}"
    _fail(FilterSyntaxError, message, text, pos, exc.line, exc.column, shown)


def _fail(
    kind: type[FilterError],
    message: str,
    text: str,
    _pos: int,
    line: int,
    column: int,
    fragment: str = "",
) -> NoReturn:
    raise kind(message, text=text, line=line, column=column, fragment=fragment) from None
