"""The filter tree: the one representation every format is read into and written from.

Nodes are immutable, hashable attrs classes with structural equality (values
compare with their type, see :func:`qwhere.values.value_key`). Each node has a
``key``: a generator (text, LoopBack, predicate, ...) renders a node with its
method of that name, so adding an operator adds one method per target.

``&``, ``|`` and ``~`` combine nodes; ``and``/``or`` are flattened and keep
their operands' order. ``And(())`` is the filter that selects everything (written
``true``) and ``Or(())`` the one that selects nothing (``false``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, ClassVar, Generic, Literal, TypeVar, cast

import attrs

from .errors import ArgumentError, clip
from .jsregex import JsRegex, atoms, check_portable
from .values import Scalar, check_scalar, value_key

__all__ = [
    "COMPARISON_OPS",
    "FALSE",
    "MAX_DEPTH",
    "QUANTIFIERS",
    "STAGE_DEPTH",
    "TRUE",
    "And",
    "Between",
    "Compare",
    "Exists",
    "Expr",
    "FieldPath",
    "Generator",
    "In",
    "Match",
    "Not",
    "Or",
    "Quantified",
    "Test",
    "all_of",
    "any_of",
    "field_path",
]

FieldPath = tuple[str, ...]

#: How deep ``and``/``or``/``not`` may nest in a filter written as text or built with ``Q``
#: (a condition is level 1). Every stage supports more (:data:`STAGE_DEPTH`).
MAX_DEPTH = 64
#: How deep the trees qwhere derives from a filter may nest (schemas expand statuses, dates
#: become intervals: a few levels more), and what every stage (text, repr, plan, predicate,
#: from_where) is tested to support.
STAGE_DEPTH = MAX_DEPTH + 16
_DERIVED: ContextVar[bool] = ContextVar("qwhere_derived_tree", default=False)
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_text(text: str, what: str) -> str:
    """``text`` unless it holds a lone surrogate (which is not Unicode text: it cannot be sent)."""
    if not text.isascii() and _SURROGATE.search(text):
        raise ArgumentError(f"{what} {clip(repr(text))} holds a lone surrogate, which is not text")
    return text


ComparisonOp = Literal["==", "!=", "<", "<=", ">", ">="]
COMPARISON_OPS: tuple[str, ...] = ("==", "!=", "<", "<=", ">", ">=")
QUANTIFIERS: tuple[str, ...] = ("all", "any", "none")
REGEX_FLAGS = "ims"

_BOOL_HINT = (
    "a filter has no truth value: combine filters with & (and), | (or) and ~ (not) "
    "instead of Python's and/or/not, and parenthesise comparisons: "
    "(Q.a == 1) & (Q.b == 2)"
)


#: Path parts JavaScript reads from an object's prototype chain: a where clause naming them
#: can read or pollute ``Object.prototype`` on the server, so no filter may name them.
PROTOTYPE_KEYS = frozenset({"__proto__", "constructor", "prototype"})


def prototype_key_message(name: str) -> str:
    return (
        f"field name {name!r} is refused: JavaScript reads {name!r} from an object's "
        "prototype, so LoopBack would not read a field (a prototype-pollution key)"
    )


def field_path(name: str | Iterable[str]) -> FieldPath:
    """A field path from ``"backend.name"`` or ``("backend", "name")``; dots separate parts."""
    if type(name) is str or type(name) is tuple:
        return _cached_path(name)  # every node checks its path: the same paths recur
    return _field_path(name)


@functools.lru_cache(maxsize=4096)
def _cached_path(name: str | tuple[str, ...]) -> FieldPath:
    return _field_path(name)


def _field_path(name: str | Iterable[str]) -> FieldPath:
    parts: list[str] = []
    if not isinstance(name, str | Iterable):
        raise ArgumentError(f"a field name must be a string, not {name!r}")
    for piece in [name] if isinstance(name, str) else list(name):
        if not isinstance(piece, str):
            raise ArgumentError(f"a field name must be a string, not {piece!r}")
        parts.extend(piece.split("."))
    if not parts or any(not p for p in parts):
        raise ArgumentError(f"empty part in field name {name!r}")
    for part in parts:
        if part in PROTOTYPE_KEYS:
            raise ArgumentError(prototype_key_message(part))
        check_text(part, "a field name")
    return tuple(parts)


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[object, object, object], None]:
    def check(_node: object, _attr: object, value: object) -> None:
        if not isinstance(value, str) or value not in choices:
            raise ArgumentError(f"{what} must be one of {', '.join(choices)}, not {value!r}")

    return check


def _is_filter(_node: object, _attr: object, value: Any) -> None:
    if not isinstance(value, Expr):
        raise ArgumentError(f"not takes a filter, not {value!r}")


def _values(values: Iterable[object]) -> tuple[Scalar, ...]:
    if isinstance(values, str | bytes | dict):
        raise ArgumentError(f"expected a list of values, not {values!r}")
    return tuple(check_scalar(v) for v in values)


class Expr:
    """Base class of every node."""

    __slots__ = ()
    key: ClassVar[str]

    @property
    def depth(self) -> int:
        """How deep ``and``/``or``/``not`` nest here: a condition is 1, ``not a`` 2."""
        return 1

    @property
    def derived(self) -> bool:
        """Built by qwhere's own rewrites (which may nest a filter a few levels deeper)."""
        return False

    def __and__(self, other: object) -> Expr:
        return all_of(self, _operand(other, "&"))

    def __rand__(self, other: object) -> Expr:
        return all_of(_operand(other, "&"), self)

    def __or__(self, other: object) -> Expr:
        return any_of(self, _operand(other, "|"))

    def __ror__(self, other: object) -> Expr:
        return any_of(_operand(other, "|"), self)

    def __invert__(self) -> Expr:
        return Not(self)

    def __bool__(self) -> bool:
        raise ArgumentError(_BOOL_HINT)

    def __str__(self) -> str:
        from .text import to_text

        return to_text(self)


def _operand(other: object, op: str) -> Expr:
    if isinstance(other, Expr):
        return other
    raise ArgumentError(
        f"cannot combine a filter with {other!r} using {op}; both sides must be filters "
        "(did you forget parentheses around a comparison?)"
    )


def _regex_pattern(pattern: str) -> str:
    """Normalise a pattern so the regex literal ``/.../`` round-trips it.

    ``\\/`` becomes ``/`` and a raw line break becomes ``\\n`` (same meaning in
    JavaScript and Python regular expressions).
    """
    if not isinstance(pattern, str):
        raise ArgumentError(f"a regular expression must be a string, not {pattern!r}")
    return "".join(_LITERAL_FORM.get(atom, atom) for _, atom, _ in atoms(pattern))


# escapes and line breaks a /.../ literal writes differently (same meaning in both languages)
_LITERAL_FORM = {"\\/": "/", "\\\n": "\\n", "\\\r": "\\r", "\n": "\\n", "\r": "\\r"}


def _regex_flags(flags: str) -> str:
    if not isinstance(flags, str):
        raise ArgumentError(f"regular expression flags must be a string, not {flags!r}")
    bad = sorted(set(flags) - set(REGEX_FLAGS))
    if bad:
        raise ArgumentError(
            f"unknown regular expression flag(s) {''.join(bad)!r}; allowed: i, m, s"
        )
    return "".join(sorted(set(flags)))


@attrs.frozen(repr=False)
class Compare(Expr):
    """``field op value`` for ``== != < <= > >=``; ``x == true`` is the bare flag ``x``."""

    key: ClassVar[str] = "compare"
    field: FieldPath = attrs.field(converter=field_path)
    op: ComparisonOp = attrs.field(validator=_one_of(COMPARISON_OPS, "the operator"))
    value: Scalar = attrs.field(converter=check_scalar, eq=value_key)

    def __repr__(self) -> str:
        return f"Compare({'.'.join(self.field)!r}, {self.op!r}, {self.value!r})"


@attrs.frozen(repr=False)
class In(Expr):
    """``field in [v, ...]``; ``field not in [...]`` is ``Not(In(...))``."""

    key: ClassVar[str] = "in_"
    field: FieldPath = attrs.field(converter=field_path)
    values: tuple[Scalar, ...] = attrs.field(converter=_values, eq=value_key)

    def __repr__(self) -> str:
        return f"In({'.'.join(self.field)!r}, {list(self.values)!r})"


@attrs.frozen(repr=False)
class Quantified(Expr):
    """``field all|any|none [v, ...]`` for list-valued fields (a scalar counts as a list of one)."""

    key: ClassVar[str] = "quantified"
    field: FieldPath = attrs.field(converter=field_path)
    quantifier: Literal["all", "any", "none"] = attrs.field(
        validator=_one_of(QUANTIFIERS, "the quantifier")
    )
    values: tuple[Scalar, ...] = attrs.field(converter=_values, eq=value_key)

    def __repr__(self) -> str:
        return f"Quantified({'.'.join(self.field)!r}, {self.quantifier!r}, {list(self.values)!r})"


@attrs.frozen(repr=False)
class Match(Expr):
    """``field ~ /pattern/flags``: an unanchored regular-expression search."""

    key: ClassVar[str] = "match"
    field: FieldPath = attrs.field(converter=field_path)
    pattern: str = attrs.field(converter=_regex_pattern)
    flags: str = attrs.field(default="", converter=_regex_flags)

    def __attrs_post_init__(self) -> None:
        if not self.pattern:  # flags cannot change what an empty pattern matches
            object.__setattr__(self, "flags", "")
        try:
            check_portable(self.pattern)
            JsRegex(self.pattern, self.flags)
        except (re.error, ValueError, IndexError, OverflowError, RecursionError) as exc:
            shown = clip(self.pattern)
            raise ArgumentError(f"invalid regular expression /{shown}/: {exc}") from None

    def __repr__(self) -> str:
        return f"Match({'.'.join(self.field)!r}, {self.pattern!r}, {self.flags!r})"


@attrs.frozen(repr=False)
class Between(Expr):
    """``field between low and high``, both ends included."""

    key: ClassVar[str] = "between"
    field: FieldPath = attrs.field(converter=field_path)
    low: Scalar = attrs.field(converter=check_scalar, eq=value_key)
    high: Scalar = attrs.field(converter=check_scalar, eq=value_key)

    def __repr__(self) -> str:
        return f"Between({'.'.join(self.field)!r}, {self.low!r}, {self.high!r})"


@attrs.frozen(repr=False)
class Exists(Expr):
    """``field exists``: the field is present and not null."""

    key: ClassVar[str] = "exists"
    field: FieldPath = attrs.field(converter=field_path)

    def __repr__(self) -> str:
        return f"Exists({'.'.join(self.field)!r})"


def _flatten(kind: type[Expr], operands: Iterable[Expr]) -> tuple[Expr, ...]:
    out: list[Expr] = []
    for op in operands:
        if not isinstance(op, Expr):
            raise ArgumentError(f"an operand of {kind.__name__} must be a filter, not {op!r}")
        if isinstance(op, And | Or) and type(op) is kind and op.operands:
            out.extend(op.operands)
        else:
            out.append(op)
    if len(out) == 1:
        raise ArgumentError(
            f"{kind.__name__} needs zero or at least two operands; use all_of/any_of"
        )
    return tuple(out)


class NestingError(ArgumentError):
    """A tree nested deeper than :data:`MAX_DEPTH` (the parser reports it with a position)."""


def _nest(node: Expr, operands: tuple[Expr, ...]) -> None:
    """Set ``node``'s depth from its operands; refuse nesting past the limits."""
    deepest = max(operands, key=_depth_key, default=None)
    depth = 1 if deepest is None else deepest.depth + 1
    derived = _DERIVED.get() or any(op.derived for op in operands)
    if depth > MAX_DEPTH and (depth > STAGE_DEPTH or not derived):
        raise NestingError(
            f"and/or/not nest {depth} levels deep here; a filter may nest at most {MAX_DEPTH}"
        )
    object.__setattr__(node, "_depth", depth)
    object.__setattr__(node, "_derived", derived)


def _depth_key(node: Expr) -> int:
    return node.depth


@contextmanager
def derived() -> Iterator[None]:
    """Trees built inside are qwhere's own rewrites: they may nest up to :data:`STAGE_DEPTH`."""
    token = _DERIVED.set(True)
    try:
        yield
    finally:
        _DERIVED.reset(token)


def conjoin(parts: Iterable[Expr]) -> Expr:
    """``all_of(*parts)`` (``TRUE`` for none) for qwhere's own combinations of filters."""
    with derived():
        items = tuple(parts)
        return all_of(*items) if items else TRUE


def _and_operands(operands: Iterable[Expr]) -> tuple[Expr, ...]:
    return _flatten(And, operands)


def _or_operands(operands: Iterable[Expr]) -> tuple[Expr, ...]:
    return _flatten(Or, operands)


@attrs.frozen(repr=False)
class _Connective(Expr):
    """A node over other nodes: its nesting depth is kept, and checked, as it is built."""

    _depth: int = attrs.field(init=False, eq=False, repr=False)
    _derived: bool = attrs.field(init=False, eq=False, repr=False)

    def _children(self) -> tuple[Expr, ...]:
        return self.operands  # type: ignore[attr-defined, no-any-return]

    def __attrs_post_init__(self) -> None:
        _nest(self, self._children())

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def derived(self) -> bool:
        return self._derived


@attrs.frozen(repr=False)
class And(_Connective):
    """Every operand holds. ``And(())`` selects everything."""

    key: ClassVar[str] = "and_"
    operands: tuple[Expr, ...] = attrs.field(converter=_and_operands)

    def __repr__(self) -> str:
        return f"And({list(self.operands)!r})"


@attrs.frozen(repr=False)
class Or(_Connective):
    """Some operand holds. ``Or(())`` selects nothing."""

    key: ClassVar[str] = "or_"
    operands: tuple[Expr, ...] = attrs.field(converter=_or_operands)

    def __repr__(self) -> str:
        return f"Or({list(self.operands)!r})"


@attrs.frozen(repr=False)
class Not(_Connective):
    """The operand does not hold (classical: exactly the records it does not select)."""

    key: ClassVar[str] = "not_"
    operand: Expr = attrs.field(validator=_is_filter)

    def _children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def __repr__(self) -> str:
        return f"Not({self.operand!r})"


@attrs.frozen(repr=False)
class Test(Expr):
    """A client-only leaf: a Python callable applied to each record (``Q.test(fn)``).

    Equal when the callable is the same object. It has no text form.
    """

    key: ClassVar[str] = "test"
    __test__: ClassVar[bool] = False  # not a pytest test class
    fn: Callable[[Any], object] = attrs.field()

    @fn.validator
    def _check(self, _attr: object, value: object) -> None:
        if not callable(value):
            raise ArgumentError(f"Q.test needs a callable, not {value!r}")

    @property
    def label(self) -> str:
        return getattr(self.fn, "__qualname__", None) or type(self.fn).__name__

    def __repr__(self) -> str:
        return f"Test({self.label})"


def _frozen_json(value: Mapping[str, Any]) -> str:
    if not isinstance(value, Mapping):
        raise TypeError(f"a server clause is a JSON object, not {value!r}")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@attrs.frozen(repr=False)
class ServerClause(Expr):
    """A LoopBack where clause only the server can judge (``like``, ``ilike``, ...).

    :func:`qwhere.from_where` keeps such a clause from ``db_filter`` as it is; the
    LoopBack target sends it unchanged. It cannot be negated or evaluated on the
    client, and it has no text form.
    """

    key: ClassVar[str] = "server_clause"
    text: str = attrs.field(converter=_frozen_json)

    @property
    def where(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.text)
        return loaded

    def __repr__(self) -> str:
        return f"ServerClause({self.text})"


TRUE = And(())
FALSE = Or(())


def walk(expr: Expr) -> Iterator[Expr]:
    """``expr`` and every node below it, parents first."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, And | Or):
            stack.extend(reversed(node.operands))
        elif isinstance(node, Not):
            stack.append(node.operand)


def all_of(*operands: Expr) -> Expr:
    """The conjunction of ``operands`` (flattened; a single operand is returned as is)."""
    return operands[0] if len(operands) == 1 else And(operands)


def any_of(*operands: Expr) -> Expr:
    """The disjunction of ``operands`` (flattened; a single operand is returned as is)."""
    return operands[0] if len(operands) == 1 else Or(operands)


T = TypeVar("T")


class Generator(Generic[T]):
    """Base of every target: ``generate(node)`` calls the method named by ``node.key``."""

    def generate(self, node: Expr) -> T:
        method = getattr(self, node.key, None)
        if method is None:
            raise NotImplementedError(f"{type(self).__name__} cannot render {type(node).__name__}")
        return cast("Callable[[Expr], T]", method)(node)
