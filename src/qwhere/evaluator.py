"""Tree -> Python predicate: one generated function per filter, selecting what LoopBack selects.

The generator writes Python source (one method per node, named after it) and
compiles it once, so evaluating a record is a single function call with no tree
walk. Constants (values, regexes, field names) are passed in a namespace, never
pasted into the source.

Record semantics mirror LoopBack's engine (``loopback-datasource-juggler``):

* a missing field and ``null`` never satisfy a comparison except ``== null``;
* on a list-valued field an operator holds if *some* element satisfies it,
  ``!=`` included (and ``!=`` holds on an empty list);
* ``~`` is an unanchored regular-expression search that never matches ``""``;
* strings order as JavaScript orders them (UTF-16 code units).

``and``/``or``/``not`` are classical. Records are JSON mappings, or objects: an
object with ``__qwhere_record__()`` is read through the mapping it returns
(``Q.test`` callables still receive the object), any other object through its data
fields (:func:`read_field`: public attributes and properties, never a method).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import cached_property
from types import MemberDescriptorType, ModuleType
from typing import TYPE_CHECKING, Any

from .errors import ArgumentError, UnsupportedWhereError
from .jsregex import JsRegex, literal_prefix
from .resolve import Types, prepare, to_server
from .tree import (
    STAGE_DEPTH,
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
    ServerClause,
    Test,
)
from .values import Scalar

if TYPE_CHECKING:
    from .schema import Schema

__all__ = ["MISSING", "Record", "predicate", "read_datetime"]

Record = Any


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def read_datetime(value: object) -> datetime | None:
    """A record's date as an aware datetime: ISO strings, datetimes, epoch milliseconds."""
    if isinstance(value, datetime):  # a record's naive date-time is UTC, as its ISO text is
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _EPOCH + timedelta(milliseconds=value)
        except OverflowError:
            return None
    return None


def js_compare(a: str, b: str) -> int:
    """Compare strings as JavaScript does (UTF-16 code units)."""
    if not (a.isascii() and b.isascii()):
        a_key, b_key = (
            a.encode("utf-16-be", "surrogatepass"),
            b.encode("utf-16-be", "surrogatepass"),
        )
        return (a_key > b_key) - (a_key < b_key)
    return (a > b) - (a < b)


def _slots(owner: type) -> frozenset[str]:
    """The names ``owner`` itself declares in ``__slots__`` (Python-level slots only)."""
    declared = owner.__dict__.get("__slots__", ())
    return frozenset((declared,) if isinstance(declared, str) else declared)


def _class_entry(cls: type, name: str) -> tuple[object, type | None]:
    """What ``name`` is on ``cls`` (its MRO, looked up statically: no ``__getattr__``)."""
    for owner in cls.__mro__:
        entry = owner.__dict__.get(name, _ABSENT)
        if entry is not _ABSENT:
            return entry, owner
    return _ABSENT, None


_ABSENT = object()
#: values that are not records: their attributes are never fields
_NO_FIELDS = (
    str,
    bytes,
    bytearray,
    int,
    float,
    complex,
    bool,
    list,
    tuple,
    set,
    frozenset,
    date,
    type,
    ModuleType,
    type(None),
    _Missing,
)


def read_field(obj: object, name: str) -> Any:
    """The field ``name`` of a plain object, or MISSING: data only, nothing is called.

    A public name (not ``_x``, not ``__x__``) reads, in Python's order, a property of the
    object's class (its getter runs: that is reading), a slot, an instance attribute (the
    fields of dataclasses and attrs classes are both), a ``functools.cached_property``, or
    a class attribute that holds data. Methods, functions, classes and other callables,
    other descriptors, and names an object only provides through ``__getattr__`` read as
    missing; strings, numbers, lists, dates, classes and modules have no fields.
    """
    if not isinstance(name, str) or name[:1] in ("_", "") or isinstance(obj, _NO_FIELDS):
        return MISSING
    cls = type(obj)
    entry, owner = _class_entry(cls, name)
    value: object = _ABSENT
    try:
        slot = isinstance(entry, MemberDescriptorType) and owner and name in _slots(owner)
        if slot or isinstance(entry, property):  # data descriptors come first, as in Python
            value = entry.__get__(obj, cls)  # type: ignore[attr-defined]
        else:
            try:
                fields = object.__getattribute__(obj, "__dict__")
            except AttributeError:
                fields = None
            if isinstance(fields, dict) and name in fields:
                value = fields[name]
            elif isinstance(entry, cached_property):
                value = entry.__get__(obj, cls)
            elif entry is not _ABSENT and not hasattr(type(entry), "__get__"):
                value = entry  # a class attribute holding data
    except AttributeError:  # an unset slot, a getter that says "no such attribute"
        return MISSING
    if value is _ABSENT or callable(value):
        return MISSING
    return value


class _ObjectView:
    """Reads a plain object's fields (:func:`read_field`) as if it were a mapping."""

    __slots__ = ("obj",)

    def __init__(self, obj: object) -> None:
        self.obj = obj

    def get(self, key: str, default: object = None) -> object:
        value = read_field(self.obj, key)
        return default if value is MISSING else value


def as_record(obj: object) -> Mapping[str, Any] | _ObjectView:
    """A record as a mapping: itself, what its class's ``__qwhere_record__`` returns, or a
    view of its fields."""
    if isinstance(obj, Mapping):
        return obj
    hook = _class_entry(type(obj), "__qwhere_record__")[0]
    bind = getattr(type(hook), "__get__", None)
    if hook is not _ABSENT and bind is not None:
        record = bind(hook, obj, type(obj))()
        if isinstance(record, Mapping):
            return record
    return _ObjectView(obj)


def get_path(record: Any, path: FieldPath) -> Any:
    """The value at a dotted path; nested objects are read like records, lists end the path."""
    value = record
    for part in path:
        if not isinstance(value, Mapping | _ObjectView):
            if isinstance(value, _NO_FIELDS):
                return MISSING
            value = as_record(value)
        value = value.get(part, MISSING)
    return value


def _is_number(value: Scalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class PythonGenerator(Generator[str]):
    """Writes one Python expression per node; ``r`` is the record, ``o`` the original object."""

    def __init__(self, judge: Judge | None = None) -> None:
        self.constants: dict[str, object] = {}
        self.counter = 0
        self.judge = judge

    def const(self, value: object) -> str:
        name = f"_c{len(self.constants)}"
        self.constants[name] = value
        return name

    def var(self) -> str:
        self.counter += 1
        return f"_v{self.counter}"

    def access(self, path: FieldPath) -> str:
        if len(path) == 1:
            return f"r.get({self.const(path[0])}, M)"
        return f"_path(r, {self.const(path)})"

    # -- one element against one value ---------------------------------------------------

    def eq(self, e: str, value: Scalar) -> str:
        c = self.const(value)
        if isinstance(value, bool):
            return f"{e} is {c}"
        if _is_number(value):
            return f"((({e}).__class__ is int or ({e}).__class__ is float) and {e} == {c})"
        if isinstance(value, datetime):
            return f"_dt({e}) == {c}"
        if value is None:
            return f"({e} is M or {e} is None)"
        return f"{e} == {c}"

    def order(self, e: str, op: str, value: Scalar) -> str:
        c = self.const(value)
        if isinstance(value, str):
            return f"(({e}).__class__ is str and _jscmp({e}, {c}) {op} 0)"
        if isinstance(value, bool):
            return f"(({e}).__class__ is bool and {e} {op} {c})"
        if _is_number(value):
            return f"((({e}).__class__ is int or ({e}).__class__ is float) and {e} {op} {c})"
        if isinstance(value, datetime):
            d = self.var()
            return f"(({d} := _dt({e})) is not None and {d} {op} {c})"
        return "False"  # ordering against null never holds in LoopBack

    def some(self, v: str, path: FieldPath, test: Callable[[str], str]) -> str:
        """``test`` on a scalar; on a list, ``test`` holds for *some* element.

        The field is read once, in the condition (which Python evaluates first).
        """
        e = self.var()
        return (
            f"(any({test(e)} for {e} in {v}) "
            f"if ({v} := {self.access(path)}).__class__ is list else {test(v)})"
        )

    # -- nodes ---------------------------------------------------------------------------

    def compare(self, node: Compare) -> str:
        v, value, op, path = self.var(), node.value, node.op, node.field
        if value is None:
            if op == "==":
                return f"(({v} := {self.access(path)}) is M or {v} is None)"
            if op == "!=":
                return f"(({v} := {self.access(path)}) is not M and {v} is not None)"
            return "False"  # LoopBack: ordering against null never holds
        if op == "==":
            if isinstance(value, str):  # the hot path: `in` on a list, `==` on a scalar
                c = self.const(value)
                return (
                    f"({c} in {v} if ({v} := {self.access(path)}).__class__ is list "
                    f"else {v} == {c})"
                )
            return self.some(v, path, lambda e: self.eq(e, value))
        if op == "!=":
            e = self.var()
            return (
                f"((not {v} or any(not ({self.eq(e, value)}) for {e} in {v})) "
                f"if ({v} := {self.access(path)}).__class__ is list "
                f"else not ({self.eq(v, value)}))"
            )
        return self.some(v, path, lambda e: self.order(e, op, value))

    def in_(self, node: In) -> str:
        values = node.values
        if not values:
            return "False"
        v = self.var()
        if all(isinstance(x, str) for x in values):
            s = self.const(frozenset(values))
            e = self.var()
            return (
                f"(not {s}.isdisjoint({e} for {e} in {v} if {e}.__class__ is str) "
                f"if ({v} := {self.access(node.field)}).__class__ is list "
                f"else {v}.__class__ is str and {v} in {s})"
            )
        return self.some(v, node.field, lambda e: " or ".join(f"({self.eq(e, x)})" for x in values))

    def quantified(self, node: Quantified) -> str:
        v, q, e = self.var(), self.var(), self.var()
        items = (
            f"({v} if ({v} := {self.access(node.field)}).__class__ is list "
            f"else () if {v} is M or {v} is None else ({v},))"
        )
        has = [
            f"{self.const(x)} in {q}"
            if isinstance(x, str)
            else f"any({self.eq(e, x)} for {e} in {q})"
            if x is not None
            else "False"
            for x in node.values
        ]
        if node.quantifier == "all":
            body = " and ".join(has) or "True"
        elif node.quantifier == "any":
            body = " or ".join(has) or "False"
        else:
            body = "not (" + (" or ".join(has) or "False") + ")"
        return f"(({q} := {items}).__class__ is not None and ({body}))"

    def match(self, node: Match) -> str:
        v = self.var()
        prefix = literal_prefix(node.pattern) if not node.flags else None
        if prefix is not None:
            # /^literal/ (e.g. the ERROR_ statuses): a prefix test, no regex engine
            c = self.const(prefix)
            return self.some(
                v, node.field, lambda e: f"({e}.__class__ is str and {e}.startswith({c}))"
            )
        rx = self.const(JsRegex(node.pattern, node.flags).matcher())  # compiled once, cached
        return self.some(
            v,
            node.field,
            lambda e: f"({e}.__class__ is str and {e} != '' and {rx}({e}))",
        )

    def between(self, node: Between) -> str:
        v = self.var()
        return self.some(
            v,
            node.field,
            lambda e: f"({self.order(e, '>=', node.low)} and {self.order(e, '<=', node.high)})",
        )

    def exists(self, node: Exists) -> str:
        v = self.var()
        return f"(({v} := {self.access(node.field)}) is not M and {v} is not None)"

    def and_(self, node: And) -> str:
        if not node.operands:
            return "True"
        return "(" + " and ".join(self.generate(op) for op in node.operands) + ")"

    def or_(self, node: Or) -> str:
        if not node.operands:
            return "False"
        return "(" + " or ".join(self.generate(op) for op in node.operands) + ")"

    def not_(self, node: Not) -> str:
        return f"(not {self.generate(node.operand)})"

    def test(self, node: Test) -> str:
        return f"bool({self.const(node.fn)}(o))"

    def server_clause(self, node: ServerClause) -> str:
        if self.judge is None:
            raise UnsupportedWhereError(
                f"{node.text} can only be judged by the server; qwhere cannot evaluate it"
            )
        return f"bool({self.const(self.judge)}({self.const(node.where)}, r))"


#: Decides a server-only clause for one record, as some server would (``qwhere.testing``).
Judge = Callable[[dict[str, Any], Any], bool]


def compile_predicate(expr: Expr, judge: Judge | None = None) -> Callable[[Record], bool]:
    """Compile a *prepared* tree (see :func:`qwhere.resolve.prepare`) into a function.

    A :class:`~qwhere.tree.ServerClause` is refused unless ``judge`` decides it.
    """
    gen = PythonGenerator(judge)
    try:
        return _compiled(gen, gen.generate(expr))
    except (SyntaxError, RecursionError, MemoryError):  # past STAGE_DEPTH: never for a filter
        raise ArgumentError(
            f"the filter nests too deep ({expr.depth} levels) to compile; at most {STAGE_DEPTH}"
        ) from None


def _compiled(gen: PythonGenerator, body: str) -> Callable[[Record], bool]:
    source = (
        "def _predicate(r):\n"
        + ("    o = r\n" if "(o)" in body else "")
        + "    if r.__class__ is not dict:\n"
        "        r = _record(r)\n"
        f"    return {body}\n"
    )
    namespace: dict[str, object] = {
        "M": MISSING,
        "_dt": read_datetime,
        "_jscmp": js_compare,
        "_path": get_path,
        "_record": as_record,
        **gen.constants,
    }
    exec(compile(source, "<qwhere predicate>", "exec"), namespace)
    function = namespace["_predicate"]
    function.__qwhere_source__ = source  # type: ignore[attr-defined]
    return function  # type: ignore[return-value]


def predicate(
    expr: Expr | str,
    schema: Schema | None = None,
    *,
    types: Types | None = None,
    now: datetime | None = None,
    judge: Judge | None = None,
) -> Callable[[Record], bool]:
    """A function ``record -> bool`` that selects exactly what the filter selects.

    With ``schema``, ``expr`` uses the schema's names (text is parsed with it) and
    records are read at the server paths it maps them to. Relative times resolve
    against ``now`` (default: the clock, when the predicate is built). A clause only
    the server can judge (``like`` from ``db_filter``) raises
    :class:`~qwhere.UnsupportedWhereError` unless ``judge(clause, record)`` decides it.
    """
    server, server_types = to_server(expr, schema, types)
    return compile_predicate(prepare(server, server_types, now), judge)
