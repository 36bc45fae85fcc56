"""Text -> tree: the Lark parser (LALR, grammar/filter.lark) and its Transformer.

The parser is built once per process (from a per-user cache when possible) and
transforms while it parses; :class:`FastLexer` scans for it with one regular expression
made from the grammar's terminals. ``parse`` caches its results: trees are immutable,
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
import stat
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from contextvars import ContextVar
from copy import copy
from datetime import date, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NoReturn, cast

import lark
from lark import Lark, Token, Transformer
from lark.exceptions import (
    UnexpectedCharacters,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)
from lark.lexer import BasicLexer, ContextualLexer, Lexer, LexerState
from lark.utils import TextSlice

from .errors import ArgumentError, FilterError, FilterSyntaxError, FilterValueError
from .jsregex import atoms
from .tree import (
    FALSE,
    MAX_DEPTH,
    PROTOTYPE_KEYS,
    TRUE,
    Between,
    Compare,
    Exists,
    Expr,
    FieldPath,
    In,
    Match,
    NestingError,
    Not,
    Quantified,
    all_of,
    any_of,
    prototype_key_message,
)
from .values import UNIT_SECONDS, RelativeTime, Scalar

if TYPE_CHECKING:
    from pathlib import Path

    from lark.common import LexerConf
    from lark.parsers.lalr_parser_state import ParserState

    from .schema import Schema

__all__ = ["grammar_path", "grammar_text", "parse"]

#: The longest filter text ``parse`` accepts (characters).
MAX_TEXT_LENGTH = 100_000
#: Texts up to this long are cached in a plain LRU cache of _PARSE_CACHE_SIZE entries...
_PARSE_CACHE_SIZE = 1024
_SHORT_TEXT = 1_000
#: ... longer ones in a cache bounded by the characters it holds: together at most
#: 1,024 x 1,000 + 1,000,000 characters of text (trees take 4-15 bytes a character).
_LONG_CACHE_CHARS = 1_000_000
#: Part of the cache file's name: bump it to set every user's parser cache aside.
_CACHE_FORMAT = "2"


def grammar_path() -> Path:
    """The shipped grammar: inside the installed package, or the checkout's ``grammar/``."""
    from pathlib import Path

    return Path(_grammar_file())


def _grammar_file() -> str:
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (
        os.path.join(here, "grammar", "filter.lark"),  # the wheel (hatchling force-include)
        os.path.join(here, os.pardir, os.pardir, "grammar", "filter.lark"),  # a checkout
    ):
        if os.path.isfile(candidate):  # editable installs do not see the force-include
            return os.path.normpath(candidate)
    from importlib import resources  # an unusual loader (a zip file, ...)

    packaged = resources.files("qwhere").joinpath("grammar", "filter.lark")
    if packaged.is_file():
        return str(packaged)
    raise FileNotFoundError("qwhere's grammar (grammar/filter.lark) is missing from the install")


@lru_cache(maxsize=1)
def grammar_text() -> str:
    with open(_grammar_file(), encoding="utf-8") as f:
        return f.read()


def _cache_file(text: str) -> str | None:
    """The per-user parser cache file for grammar ``text``, or None when there is no safe one.

    Never the shared temp dir (lark-parser/lark#1628): ``$XDG_CACHE_HOME/qwhere`` or
    ``~/.cache/qwhere``, a folder that must be ours and closed to others. The cache is a
    pickle (loading it runs code), so a file there that is not a plain file of ours, closed
    to others, is never loaded: it is removed, and the parser rebuilt in its place.
    """
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "qwhere")
    key = f"{_CACHE_FORMAT}\0{lark.__version__}\0{sys.version_info[:2]}\0{text}"
    name = f"filter-{hashlib.sha256(key.encode()).hexdigest()[:16]}.lark.cache"
    path = os.path.join(folder, name)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        if not _private(os.stat(folder)):
            return None
        try:
            found = os.lstat(path)
        except FileNotFoundError:
            return path
        if not (stat.S_ISREG(found.st_mode) and _private(found)):
            os.unlink(path)  # someone else's, a link, or writable by others: never load it
    except OSError:
        return None
    return path


def _private(st: os.stat_result) -> bool:
    """Ours, and no one else may write to it (where the system has POSIX owners)."""
    if not hasattr(os, "getuid"):  # pragma: no cover - Windows: a per-user folder, ACLs
        return True
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    """The process-wide LALR parser (built once; loaded from the per-user cache if present)."""
    text = grammar_text()
    cache = _cache_file(text) if os.environ.get("QWHERE_NO_PARSER_CACHE") is None else None
    return _build_parser(text, cache)


def _build_parser(text: str, cache: str | None) -> Lark:
    """Lark's LALR parser for ``text`` with qwhere's lexer and transformer, using ``cache``.

    Lark checks a cache file's key (grammar, options, lark and Python versions) before it
    uses it, and rebuilds and rewrites a stale or unreadable one. A new file is written
    beside its final name, closed to others, then put in place in one step, so a process
    starting at the same time never reads half of it.
    """
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": FastLexer,
        "maybe_placeholders": False,
        "transformer": _BuildTree(),
    }
    if cache is None:
        return Lark(text, **options)
    if os.path.exists(cache):
        return Lark(text, cache=cache, **options)
    partial = f"{cache}.{os.getpid()}.tmp"
    parser = Lark(text, cache=partial, **options)
    with contextlib.suppress(OSError):
        os.chmod(partial, 0o600)
        os.replace(partial, cache)
    with contextlib.suppress(OSError):
        os.unlink(partial)  # left over only if it could not be put in place
    return parser


def build_strict_parser() -> Lark:
    """The grammar built with ``strict=True`` (needs ``interegular``; used by the tests)."""
    return Lark(grammar_text(), parser="lalr", lexer="contextual", strict=True)


# ---------------------------------------------------------------------------------------------
# the lexer


class FastLexer(Lexer):
    """Lark's contextual lexer, with one master regular expression for the common case.

    The expression is made from the grammar's own terminals, ranked exactly as lark ranks
    them (priority, width, name), after the ignored ones (white space; no token can start
    with it, see tests/test_parser_speed_guards.py). A token it finds is the token lark's
    contextual lexer would find *if* the parser can take it in its current state (the
    terminals of that row of the parse table): the contextual lexer tries just those
    terminals, in the same order, so its first match is the same. When the parser cannot
    take the token, or nothing matches, lark's own contextual lexer carries on from that
    point, so every error (and any token only a narrower context would produce) is lark's.
    Lines and columns are only counted when the text has a newline.
    """

    __future_interface__ = 2

    def __init__(self, conf: LexerConf) -> None:
        conf = copy(conf)
        # Validation (and interegular's collision check) belongs to the strict build in the
        # tests; lark skips it too when it loads a parser from its cache.
        conf.skip_validation = True
        self._conf = conf
        self._contextual: ContextualLexer | None = None
        self._match: Callable[[str, int, int], re.Match[str] | None] | None = None
        ranked = BasicLexer(conf).terminals  # lark's order: priority, max width, length, name
        try:  # how lark treats string terminals that a regexp terminal also matches
            from lark.lexer import _create_unless
        except ImportError:  # pragma: no cover - then lark's lexer does all the work
            return
        unless: Any = _create_unless
        terminals, retype = unless(ranked, conf.g_regex_flags, conf.re_module, False)
        if retype or conf.use_bytes or conf.callbacks:
            return  # such terminals (or bytes, or lexer callbacks): lark's lexer does it all
        ignore = set(conf.ignore)
        skip = "|".join(t.pattern.to_regexp() for t in terminals if t.name in ignore)
        alternatives = "|".join(
            f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in terminals if t.name not in ignore
        )
        # (?:skip)*+ is possessive: white space is never given back to a token. \Z (no group)
        # matches the white space at the end of the text.
        pattern = (f"(?:{skip})*+" if skip else "") + f"(?:{alternatives}|\\Z)"
        self._match = conf.re_module.compile(pattern, conf.g_regex_flags).match

    def _fallback(self, parser_state: ParserState[int]) -> ContextualLexer:
        if self._contextual is None:
            table = parser_state.parse_conf.parse_table
            states: dict[int, Collection[str]] = {i: list(row) for i, row in table.states.items()}
            self._contextual = ContextualLexer(self._conf, states)
        return self._contextual

    def lex(self, lexer_state: LexerState, parser_state: Any) -> Iterator[Token]:
        source: Any = lexer_state.text
        if type(source) is _Source:  # qwhere's own parse: the whole text, from the start
            text, end, pos, line, line_start, last = source.text, len(source.text), 0, 1, 0, None
        else:  # a str or TextSlice, as lark hands it over
            counter = lexer_state.line_ctr
            text, end, last = source.text, source.end, lexer_state.last_token
            pos, line, line_start = counter.char_pos, counter.line, counter.line_start_pos
        match = self._match
        if match is not None and isinstance(text, str):
            states = parser_state.parse_conf.states
            stack = parser_state.state_stack
            multiline = "\n" in text
            new = str.__new__
            while True:
                m = match(text, pos, end)
                if m is None:
                    break  # nothing matches here: lark reports it
                kind = m.lastgroup
                if kind is None:  # only white space was left
                    return
                if kind not in states[stack[-1]]:
                    break  # the parser cannot take it: see what the contextual lexer makes of it
                value = m.group(kind)
                stop = m.end()
                start = stop - len(value)
                tok = new(Token, value)
                tok.type = kind
                tok.value = value
                tok.start_pos = start
                tok.end_pos = stop
                if multiline and text.find("\n", pos, stop) >= 0:
                    line, line_start = _place(tok, text, pos, line, line_start)
                else:
                    tok.line = tok.end_line = line
                    tok.column = start - line_start + 1
                    tok.end_column = stop - line_start + 1
                pos = stop
                last = tok
                yield tok
        yield from self.rest(lexer_state, parser_state, text, end, pos, line, line_start, last)

    def rest(
        self,
        lexer_state: LexerState,
        parser_state: Any,
        text: str,
        end: int,
        pos: int,
        line: int,
        line_start: int,
        last: Token | None,
    ) -> Iterator[Token]:
        """Lark's contextual lexer, taking over at ``pos`` (where the fast scan stopped)."""
        state = (
            lexer_state if lexer_state.line_ctr is not None else LexerState(TextSlice(text, 0, end))
        )
        counter = state.line_ctr
        counter.char_pos, counter.line, counter.line_start_pos = pos, line, line_start
        counter.column = pos - line_start + 1
        state.last_token = last
        yield from self._fallback(parser_state).lex(state, parser_state)


class _Source:
    """Filter text for qwhere's lark parser. Lark hands any input that is not a string to
    a custom lexer as it is, so :class:`FastLexer` reads the text without the ``TextSlice``
    and ``LineCounter`` lark would build for a plain string."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _place(tok: Token, text: str, pos: int, line: int, line_start: int) -> tuple[int, int]:
    """Set the lines and columns of ``tok`` when newlines precede or fill it.

    ``line``/``line_start`` hold at ``pos`` (where the scan began, before the white space);
    returns them for the end of the token. Lines and columns count as lark's LineCounter.
    """
    start, stop = tok.start_pos or 0, tok.end_pos or 0
    newlines = text.count("\n", pos, start)
    if newlines:
        line += newlines
        line_start = text.rindex("\n", pos, start) + 1
    tok.line, tok.column = line, start - line_start + 1
    newlines = text.count("\n", start, stop)
    if newlines:
        line += newlines
        line_start = text.rindex("\n", start, stop) + 1
    tok.end_line, tok.end_column = line, stop - line_start + 1
    return line, line_start


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


_INTEGER = re.compile(r"-?\d+").fullmatch


def _number(token: Token) -> int | float:
    text = str(token)
    if _INTEGER(text):
        # 2**1024 has 309 digits; int() refuses more than 4,300 (a plain ValueError)
        if len(text.lstrip("-").lstrip("0")) > 309:
            raise _Fault(f"number {text[:20]}... is too large", token)
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


#: The schema of the parse in progress (the transformer runs inside Lark's parser).
_SCHEMA: ContextVar[Schema | None] = ContextVar("qwhere_parse_schema", default=None)

#: A field as written: its path and the token it starts with (for schema errors).
_Field = tuple[FieldPath, Token]


_POSITION_PART = re.compile(r"\.[\d-]").search


def _field_parts(name: Token) -> list[str]:
    """The parts of a NAME in a field; a part cannot start with a digit or "-" there (a
    value's bareword may: ``v1.2``)."""
    if "." in name and _POSITION_PART(name):
        raise _Fault(
            f"a part of a field name cannot start with a digit or '-' ({name}); LoopBack reads "
            'a number in a path as a position in a list. Quote the part: a."1"',
            name,
            FilterSyntaxError,
        )
    return name.split(".")  # a NAME has no empty parts


def _field(written: Token | _Field) -> _Field:
    """A condition's field: a bare NAME token (``status``, ``backend.name``), or what the
    ``field`` rule made of a path with quoted parts."""
    if type(written) is tuple:
        return written
    name = cast(Token, written)
    parts = tuple(_field_parts(name)) if "." in name else (str(name),)
    _check_parts(parts, name)
    return parts, name


def _check_parts(parts: FieldPath, token: Token) -> None:
    for part in parts:
        if part in PROTOTYPE_KEYS:
            raise _Fault(prototype_key_message(part), token)


def _bind(node: Expr, field: _Field, values: tuple[Token, ...] = ()) -> Expr:
    """``node`` checked against the schema of the parse in progress (if any)."""
    schema = _SCHEMA.get()
    if schema is None:
        return node
    try:
        return schema.bind_leaf(node)
    except FilterError as exc:
        culprit = field[1]
        if values and exc.value_index is not None:
            culprit = values[min(exc.value_index, len(values) - 1)]
        raise _Fault(exc, culprit) from None


def _built(build: Callable[..., Expr], culprit: Token, *args: Any) -> Expr:
    """``build(*args)``; a value the tree refuses is reported at ``culprit``."""
    try:
        return build(*args)
    except (TypeError, ValueError) as exc:
        raise _Fault(str(exc), culprit) from None


class _BuildTree(Transformer):  # type: ignore[type-arg]
    """One method per grammar rule (or alias); each returns a tree node or a piece of one.

    Lark calls them while it parses (no parse tree is built). ``value`` converts its token
    in place (``token.value`` becomes the Python value), so a bad value is reported as soon
    as it is read; the conditions read ``token.value``.
    """

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
            pieces = text.split(".") if tok.type == "STRING" else _field_parts(tok)
            _check_parts(tuple(pieces), tok)
            parts.extend(pieces)
        if any(not p for p in parts):
            raise _Fault("empty part in a dotted field name", children[0], FilterSyntaxError)
        return tuple(parts), children[0]

    def value(self, children: list[Token]) -> Token:
        tok = children[0]
        tok.value = _VALUE[tok.type](tok)
        return tok

    def items(self, children: list[Token]) -> list[Token]:
        return children

    def compare(self, c: list[Any]) -> Expr:
        field, op, val = _field(c[0]), c[1], c[2]
        node = _built(Compare, val, field[0], op.value, val.value)
        return _bind(node, field, (val,))

    def in_(self, c: list[Any]) -> Expr:
        field, vals = _field(c[0]), c[1]
        node = _built(In, vals[-1] if vals else field[1], field[0], [v.value for v in vals])
        return _bind(node, field, tuple(vals))

    def not_in(self, c: list[Any]) -> Expr:
        return Not(self.in_(c))

    def quantified(self, c: list[Any]) -> Expr:
        field, quantifier, vals = _field(c[0]), c[1].value.lower(), c[2]
        culprit = vals[-1] if vals else field[1]
        node = _built(Quantified, culprit, field[0], quantifier, [v.value for v in vals])
        return _bind(node, field, tuple(vals))

    def match(self, c: list[Any]) -> Expr:
        field, tok = _field(c[0]), c[1]
        if tok.type == "REGEX":
            text = str(tok)
            end = text.rindex("/")
            raw, flags = text[1:end], text[end + 1 :]
            pattern = _unescape_slashes(raw) if "/" in raw else raw  # a / is always \/ here
        else:
            pattern, flags = _unquote(tok), ""
        bad = sorted(set(flags) - set("ims"))
        if bad:
            raise _Fault(
                f"unknown regular expression flag(s) {''.join(bad)!r}; allowed: i, m, s", tok
            )
        return _bind(_built(Match, tok, field[0], pattern, flags), field, (tok,))

    def between(self, c: list[Any]) -> Expr:
        field, low, high = _field(c[0]), c[1], c[2]
        node = _built(Between, high, field[0], low.value, high.value)
        return _bind(node, field, (low, high))

    def exists(self, c: list[Any]) -> Expr:
        field = _field(c[0])
        return _bind(Exists(field[0]), field)  # a parsed path is always a valid one

    def not_exists(self, c: list[Any]) -> Expr:
        return Not(self.exists(c))

    def flag(self, c: list[Any]) -> Expr:
        field = _field(c[0])
        return _bind(Compare(field[0], "==", True), field)


def _unescape_slashes(raw: str) -> str:
    return "".join("/" if atom == "\\/" else atom for _, atom, _ in atoms(raw))


def parse(text: str, schema: Schema | None = None) -> Expr:
    """Parse filter text into a tree; with ``schema``, validate and normalise field names/values.

    >>> parse("status in [RUNNING, ERROR] and tags all [a, b]")
    And([In('status', ['RUNNING', 'ERROR']), Quantified('tags', 'all', ['a', 'b'])])
    """
    if not isinstance(text, str):
        raise ArgumentError(f"parse() takes filter text (str), not {type(text).__name__}")
    if schema is not None:
        check_schema(schema)
    if len(text) <= _SHORT_TEXT:
        return _parse_cached(text, schema)
    if len(text) > MAX_TEXT_LENGTH:
        line = text.count("\n", 0, MAX_TEXT_LENGTH) + 1
        column = MAX_TEXT_LENGTH - (text.rfind("\n", 0, MAX_TEXT_LENGTH) + 1) + 1
        _fail(
            FilterSyntaxError,
            f"the filter is {len(text):,} characters long; at most {MAX_TEXT_LENGTH:,} are "
            "accepted (build longer filters with Q)",
            text,
            MAX_TEXT_LENGTH,
            line,
            column,
        )
    return _LONG_TEXTS.parse(text, schema)


class _SizedCache:
    """The parses of long texts, least recently used first, at most ``budget`` characters."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.size = 0
        self.trees: OrderedDict[tuple[str, Schema | None], Expr] = OrderedDict()
        self.lock = threading.Lock()

    def parse(self, text: str, schema: Schema | None) -> Expr:
        key = (text, schema)
        with self.lock:
            tree = self.trees.get(key)
            if tree is not None:
                self.trees.move_to_end(key)
                return tree
        tree = _parse_text(_runner(), text, schema)
        with self.lock:
            if key not in self.trees:
                self.trees[key] = tree
                self.size += len(text)
                while self.size > self.budget:
                    (old, _), _tree = self.trees.popitem(last=False)
                    self.size -= len(old)
        return tree

    def clear(self) -> None:
        with self.lock:
            self.trees.clear()
            self.size = 0


_LONG_TEXTS = _SizedCache(_LONG_CACHE_CHARS)


def check_schema(schema: object) -> None:
    """``schema`` is a :class:`~qwhere.schema.Schema` or None (an ArgumentError otherwise)."""
    from .schema import Schema

    if schema is not None and not isinstance(schema, Schema):
        raise ArgumentError(
            f"schema must be a Schema (qwhere.schemas.JOBS, qwhere.schemas.BACKENDS) or None, "
            f"not {schema!r}"
        )


@lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(text: str, schema: Schema | None) -> Expr:
    return _parse_text(_runner(), text, schema)


def _parse_text(run: Callable[[Any], Any], text: str, schema: Schema | None) -> Expr:
    """The tree for ``text``, parsed by ``run`` (a lark parse given a :class:`_Source`)."""
    if not text.strip():
        _fail(
            FilterSyntaxError,
            "empty filter; write a condition such as `status == RUNNING`",
            text,
            len(text) + 1,
            1,
            len(text) + 1,
        )
    if not text.isascii():
        bad = _SURROGATE.search(text)
        if bad is not None:
            pos = bad.start()
            line = text.count("\n", 0, pos) + 1
            column = pos - (text.rfind("\n", 0, pos) + 1) + 1
            _fail(
                FilterSyntaxError,
                f"{bad.group()!r} is a lone surrogate, not a character",
                text,
                pos,
                line,
                column,
                bad.group(),
            )
    try:
        tree = _parse_with(run, text, schema)
    except NestingError:
        raise _locate_nesting(text, schema) from None
    except VisitError as exc:
        if isinstance(exc.orig_exc, NestingError):
            raise _locate_nesting(text, schema) from None
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


_SURROGATE = re.compile("[\ud800-\udfff]")


class _Locator(_BuildTree):
    """The transformer, remembering the token each node starts at, to say where a filter
    nests too deep: at the condition the deepest path ends in."""

    def __init__(self) -> None:
        super().__init__()
        self.at: dict[int, tuple[Expr, Token]] = {}

    def _seen(self, node: Expr, token: Token | None) -> Expr:
        if token is not None:
            self.at[id(node)] = (node, token)
        return node

    def _deep(self, build: Callable[[], Expr], children: list[Expr]) -> Expr:
        deepest = max(children, key=lambda n: n.depth) if children else None
        found = self.at.get(id(deepest)) if deepest is not None else None
        token = found[1] if found is not None else None
        try:
            node = build()
        except NestingError as exc:
            if token is None:
                raise
            raise _Fault(str(exc), token, FilterSyntaxError) from None
        return self._seen(node, token)

    def or_expr(self, children: list[Expr]) -> Expr:
        return self._deep(lambda: super(_Locator, self).or_expr(children), children)

    def and_expr(self, children: list[Expr]) -> Expr:
        return self._deep(lambda: super(_Locator, self).and_expr(children), children)

    def not_(self, children: list[Expr]) -> Expr:
        return self._deep(lambda: super(_Locator, self).not_(children), children)


def _leaf_recorder(name: str) -> Callable[[_Locator, list[Any]], Expr]:
    build = getattr(_BuildTree, name)

    def record(self: _Locator, c: list[Any]) -> Expr:
        first = c[0] if c else None
        token = first[1] if type(first) is tuple else first
        return self._seen(build(self, c), token if isinstance(token, Token) else None)

    return record


for _name in ("compare", "in_", "not_in", "quantified", "match", "between", "exists"):
    setattr(_Locator, _name, _leaf_recorder(_name))
for _name in ("not_exists", "flag", "everything", "nothing"):
    setattr(_Locator, _name, _leaf_recorder(_name))

_LOCATE = threading.Lock()


@lru_cache(maxsize=1)
def _locator() -> tuple[Lark, _Locator]:
    locator = _Locator()
    options: dict[str, Any] = {"parser": "lalr", "lexer": FastLexer, "maybe_placeholders": False}
    return Lark(grammar_text(), transformer=locator, **options), locator


def _locate_nesting(text: str, schema: Schema | None) -> FilterError:
    """The error for ``text``, which nests too deep, at the condition its deepest path ends in."""
    with _LOCATE:
        parser, locator = _locator()
        locator.at.clear()
        try:
            _parse_with(lambda source: parser.parse(source.text), text, schema)
        except _Fault as fault:
            return fault.located(text)
        except VisitError as exc:
            if isinstance(exc.orig_exc, _Fault):
                return exc.orig_exc.located(text)
        except (NestingError, UnexpectedInput):  # pragma: no cover - not found: say so plainly
            pass
        finally:
            locator.at.clear()
    return FilterSyntaxError(
        f"and/or/not nest too deep; a filter may nest at most {MAX_DEPTH}",
        text=text,
        line=1,
        column=1,
    )


def _parse_with(run: Callable[[Any], Any], text: str, schema: Schema | None) -> Any:
    # The transformer runs inside the LALR parser (no parse tree is built); the schema
    # reaches it through a context variable, so one parser serves every schema.
    source = _Source(text)  # lark takes any input object when the lexer is custom
    if schema is None and _SCHEMA.get() is None:
        return run(source)
    token = _SCHEMA.set(schema)
    try:
        return run(source)
    finally:
        _SCHEMA.reset(token)


@lru_cache(maxsize=1)
def _runner() -> Callable[[Any], Any]:
    return _direct(lark_parser())


def _plain_callback(callback: Any, rule: Any) -> Callable[[list[Any]], Any] | None:
    """Lark's callback for a rule, with its child filter written out where it only picks
    children (what ``ChildFilterLALR_NoPlaceholders`` does then), or None where it returns
    the rule's only child (``ExpandSingleChild``, for ``?rule``)."""
    from lark.parse_tree_builder import ChildFilterLALR_NoPlaceholders, ExpandSingleChild

    if type(callback) is ExpandSingleChild and len(rule.expansion) == 1:
        return None
    if type(callback) is ChildFilterLALR_NoPlaceholders and not any(
        expand for _, expand in callback.to_include
    ):
        picked = tuple(i for i, _ in callback.to_include)
        build = callback.node_builder
        return lambda children: build([children[i] for i in picked])
    return cast("Callable[[list[Any]], Any]", callback)


def _direct(parser: Lark) -> Callable[[Any], Any]:
    """``parser.parse`` without the set-up lark repeats on every call, and its LALR loop inline.

    For each call, lark's LALR front end checks its options and start symbol and builds a
    new parse configuration, the same every time. This builds it once, and runs lark's LALR
    driver (``parse_from_state`` with ``ParserState.feed_token``, as
    ``InteractiveParser.resume_parse`` does) with the loop written out in one function: the
    same table, the same shifts, reductions and callbacks, without a method call per token.
    Anything the table does not allow is handed to ``feed_token`` itself, so every error is
    lark's, raised from lark's parser state. Should lark's internals ever differ from what
    this expects, it is plain ``parser.parse``.
    """
    try:
        from lark.exceptions import UnexpectedInput
        from lark.lexer import LexerThread
        from lark.parsers.lalr_analysis import Shift
        from lark.parsers.lalr_interactive_parser import InteractiveParser
        from lark.parsers.lalr_parser_state import ParseConf, ParserState

        frontend = parser.parser
        lalr = frontend.parser.parser
        conf = ParseConf(lalr.parse_table, lalr.callbacks, "start")
        lexer = frontend.lexer
        states, callbacks = conf.states, conf.callbacks
        # each rule: (its length, the name of the rule it reduces to, its callback or None
        # when the callback would return its one child)
        reduce = {
            arg: (len(arg.expansion), arg.origin.name, _plain_callback(callbacks[arg], arg))
            for row in states.values()
            for action, arg in row.values()
            if action is not Shift
        }
        token_callbacks = {name for name in callbacks if isinstance(name, str)}
    except (ImportError, AttributeError, KeyError, TypeError):  # pragma: no cover
        return parser.parse

    match = getattr(lexer, "_match", None) if isinstance(lexer, FastLexer) else None

    def run(source: Any) -> Any:
        lexer_state = LexerState(source)
        state = ParserState(conf, LexerThread(lexer, lexer_state))
        stack, values = state.state_stack, state.value_stack
        token = None
        try:
            if match is None or type(source) is not _Source or token_callbacks:
                for token in state.lexer.lex(state):  # type: ignore[no-untyped-call]
                    state.feed_token(token)
            else:
                # FastLexer.lex, and feed_token, written out together: the same tokens and
                # the same steps; at anything else lark carries on from there
                text = source.text
                end, pos, line, line_start = len(text), 0, 1, 0
                multiline = "\n" in text
                new = str.__new__
                rest = True
                while True:
                    m = match(text, pos, end)
                    if m is None:
                        break  # nothing matches here: lark reports it
                    kind = m.lastgroup
                    if kind is None:  # only white space was left
                        rest = False
                        break
                    row = states[stack[-1]]
                    if kind not in row:
                        break  # the parser cannot take it: the contextual lexer decides
                    value = m.group(kind)
                    stop = m.end()
                    start = stop - len(value)
                    tok = new(Token, value)
                    tok.type = kind
                    tok.value = value
                    tok.start_pos = start
                    tok.end_pos = stop
                    if multiline and text.find("\n", pos, stop) >= 0:
                        line, line_start = _place(tok, text, pos, line, line_start)
                    else:
                        tok.line = tok.end_line = line
                        tok.column = start - line_start + 1
                        tok.end_column = stop - line_start + 1
                    pos = stop
                    token = tok
                    while True:
                        action, arg = row[kind]
                        if action is Shift:
                            stack.append(arg)
                            values.append(tok)
                            break
                        size, origin, callback = reduce[arg]
                        if callback is None:  # a one-child rule that passes its child on
                            del stack[-1]
                        else:
                            children = values[-size:]
                            del stack[-size:]
                            del values[-size:]
                            values.append(callback(children))
                        stack.append(states[stack[-1]][origin][1])
                        row = states[stack[-1]]
                        if kind not in row:
                            state.feed_token(tok)  # lark raises UnexpectedToken
                if rest:
                    last = token
                    for token in lexer.rest(
                        lexer_state, state, text, end, pos, line, line_start, last
                    ):
                        state.feed_token(token)
            end_token = (
                Token.new_borrow_pos("$END", "", token) if token else Token("$END", "", 0, 1, 1)
            )
            return state.feed_token(end_token, True)
        except UnexpectedInput as exc:
            exc.interactive_parser = InteractiveParser(lalr, state, state.lexer)
            raise

    return run


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
