"""qwhere against a truth that is not qwhere: a hand-written reference over the generated
data, cross-checked against the engine's own selection, with generators that reach the
edges.

test_properties.py takes qwhere's ``predicate`` as the truth, so whatever a plan keeps on
the client (``tags none``, negated list tests) is checked predicate against predicate, and
its bounds are drawn independently of the data, so a record on a bound is rare. Here:

* the truth is :func:`reference`, written from the documented meaning (missing and null
  match no comparison; strings compare by UTF-16 code units as in JavaScript; dates as
  instants; ``not`` complements over the data set; a regular expression is V8's, asked
  of the engine directly); for every list test it is checked once more against the
  engine's selection of a clause written by hand (``tags none [a]`` is the complement of
  the engine's ``{"tags": {"inq": ["a"]}}``);
* bounds and values are drawn from the records' own values (so ``between`` and ``<=``
  meet records on the bound), dates are moved by sub-millisecond amounts, strings carry
  non-ASCII digits, there are two dotted paths, and each filter is planned with no
  types, partial types and full types, for the memory profile and for ``connector=None``;
* the share of data sets the filter splits (neither nothing nor everything) is counted
  with ``event`` (``pytest -s --hypothesis-show-statistics``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from qwhere import FieldType, plan, predicate
from qwhere.tree import Between, Compare, Expr, In, Match, Not, Quantified, all_of, any_of

from .engine import LoopBackEngine

PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "id": True},
    "name": {"type": "string"},
    "n": {"type": "number"},
    "created": {"type": "date"},
    "tags": {"type": ["string"]},
    "backend": {"type": {"name": "string"}},
    "hub": {"type": {"name": "string"}},
}
FULL = {
    ("name",): FieldType.STRING,
    ("n",): FieldType.NUMBER,
    ("created",): FieldType.DATETIME,
    ("tags",): FieldType.STRING_LIST,
    ("backend", "name"): FieldType.STRING,
    ("hub", "name"): FieldType.STRING,
}
PARTIAL = {("n",): FieldType.NUMBER, ("tags",): FieldType.STRING_LIST}
TYPINGS: dict[str, dict[tuple[str, ...], FieldType] | None] = {
    "none": None,
    "partial": PARTIAL,
    "full": FULL,
}
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# ASCII and non-ASCII digits (Arabic-Indic, Extended Arabic-Indic, Devanagari, fullwidth,
# superscript), letters JavaScript's \w does not know, and plain words
WORDS = [
    "a", "b", "ab", "B", "a1", "7", "42", "\u0663", "x\u0663", "\u06f5", "\u0967",
    "\uff11", "\u00b2", "\u00e9", "\u00e91", "z", "_", "a b", "\U0001f600", "",
]  # fmt: skip
TAGS = ["a", "b", "c", "\u00fc"]
words = st.sampled_from(WORDS)
numbers = st.sampled_from([-2, -1, 0, 0.5, 1, 1.5, 2, 3, 10])
BASE = datetime(2024, 5, 20, tzinfo=UTC)
instants = st.builds(
    lambda minutes, ms: BASE + timedelta(minutes=minutes, milliseconds=ms),
    st.sampled_from([0, 1, 60, 61, 1440]),
    st.sampled_from([0, 1, 999]),
)


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Absent (dropped below), null, or a value: a value five times in seven."""
    return st.one_of(st.just("<missing>"), st.none(), *[values] * 5)


record_fields = st.fixed_dictionaries(
    {
        "name": _maybe(words),
        "n": _maybe(numbers),
        "created": _maybe(instants.map(lambda d: d.isoformat(timespec="milliseconds"))),
        "tags": _maybe(st.lists(st.sampled_from(TAGS), max_size=3, unique=True)),
        "backend": _maybe(st.fixed_dictionaries({}, optional={"name": words | st.none()})),
        "hub": _maybe(st.fixed_dictionaries({"name": words})),
    }
)


@st.composite
def datasets(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = draw(st.lists(record_fields, min_size=3, max_size=10))
    out = []
    for i, row in enumerate(rows):
        record = {k: v for k, v in row.items() if v != "<missing>"}
        record["id"] = f"r{i:02d}"
        out.append(record)
    return out


# -- the reference --------------------------------------------------------------------


def _get(record: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _key(value: Any) -> Any:
    """The order JavaScript compares a value in: UTF-16 code units for strings."""
    if isinstance(value, str):
        return value.encode("utf-16-be", "surrogatepass")
    return value


def _comparable(path: tuple[str, ...], raw: Any, bound: Any) -> tuple[Any, Any] | None:
    if raw is None or bound is None:  # null is never ordered (nor a bound of between)
        return None
    if path == ("created",):
        return raw and _date(raw), bound
    if isinstance(bound, str) != isinstance(raw, str):
        return None
    return _key(raw), _key(bound)


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


class Reference:
    """The documented meaning of each node, over one data set."""

    def __init__(self, engine: LoopBackEngine, records: list[dict[str, Any]]) -> None:
        self.engine = engine
        self.records = records
        self.everything = {r["id"] for r in records}

    def ids(self, expr: Expr) -> set[str]:
        if isinstance(expr, Not):
            return self.everything - self.ids(expr.operand)
        kind = type(expr).__name__
        if kind == "And":
            out = set(self.everything)
            for op in expr.operands:  # type: ignore[attr-defined]
                out &= self.ids(op)
            return out
        if kind == "Or":
            out = set()
            for op in expr.operands:  # type: ignore[attr-defined]
                out |= self.ids(op)
            return out
        if isinstance(expr, Match):
            return self._match(expr)
        return {r["id"] for r in self.records if self.holds(expr, r)}

    def holds(self, expr: Expr, record: dict[str, Any]) -> bool:
        if isinstance(expr, Compare):
            pair = _comparable(expr.field, _get(record, expr.field), expr.value)
            return pair is not None and _OPS[expr.op](*pair)
        if isinstance(expr, Between):
            low = _comparable(expr.field, _get(record, expr.field), expr.low)
            high = _comparable(expr.field, _get(record, expr.field), expr.high)
            return low is not None and high is not None and low[1] <= low[0] <= high[1]
        if isinstance(expr, In):
            raw = _get(record, expr.field)
            return raw is not None and raw in expr.values
        if isinstance(expr, Quantified):
            tags = set(_get(record, expr.field) or ())
            wanted = set(expr.values)
            if expr.quantifier == "any":
                return bool(tags & wanted)
            if expr.quantifier == "none":
                return not tags & wanted
            return wanted <= tags
        raise AssertionError(f"no reference for {expr!r}")

    def _match(self, expr: Match) -> set[str]:
        texts = [(r["id"], _get(r, expr.field)) for r in self.records]
        texts = [(i, t) for i, t in texts if isinstance(t, str)]
        found = self.engine.regex([(expr.pattern, expr.flags)], [t for _, t in texts])[0]
        assert not isinstance(found, str), f"V8 refused /{expr.pattern}/: {found}"
        return {texts[i][0] for i in found}

    def engine_ids(self, where: dict[str, Any]) -> set[str]:
        result = self.engine.select(PROPERTIES, self.records, where)
        assert result.error is None, f"engine refused {where}: {result.error}"
        assert not result.warnings, f"engine warned on {where}: {result.warnings}"
        assert result.ids is not None
        return set(result.ids)


# -- filters drawn from the data --------------------------------------------------------

ORDERED = [("name",), ("n",), ("created",), ("backend", "name"), ("hub", "name")]
DOTTED = [("backend", "name"), ("hub", "name")]
PATTERNS = ["\\d", "^\\d+$", "\\D", "[\\d]", "[^\\d]", "\\w", "^\\w+$", "\\W", "\\b\\d", "[0-9]"]
_US = timedelta(microseconds=1)
JITTER = [timedelta(0), timedelta(0), _US, -_US, 400 * _US, -600 * _US, 1000 * _US]


def _values_of(records: list[dict[str, Any]], path: tuple[str, ...]) -> list[Any]:
    found = [_get(r, path) for r in records]
    return [v for v in found if v is not None]


@st.composite
def bound(draw: st.DrawFn, records: list[dict[str, Any]], path: tuple[str, ...]) -> Any:
    """A value of some record most of the time (so records sit on the bound)."""
    own = _values_of(records, path)
    if path == ("created",):
        base = _date(draw(st.sampled_from(own))) if own and draw(st.integers(0, 4)) else None
        return (base or draw(instants)) + draw(st.sampled_from(JITTER))
    if own and draw(st.integers(0, 4)):
        return draw(st.sampled_from(own))
    return draw(numbers if path == ("n",) else words)


@st.composite
def leaf(draw: st.DrawFn, records: list[dict[str, Any]]) -> Expr:
    kind = draw(st.sampled_from(["compare", "between", "in", "quantified", "match"]))
    if kind == "quantified":
        tags = [t for r in records for t in (r.get("tags") or ())] or TAGS
        values = draw(st.lists(st.sampled_from(tags + TAGS[:1]), min_size=1, max_size=2))
        return Quantified("tags", draw(st.sampled_from(["any", "all", "none"])), values)
    if kind == "match":
        path = draw(st.sampled_from([("name",), *DOTTED]))
        return Match(path, draw(st.sampled_from(PATTERNS)), draw(st.sampled_from(["", "i"])))
    path = draw(st.sampled_from(ORDERED))
    if kind == "between":
        low, high = draw(bound(records, path)), draw(bound(records, path))
        if draw(st.booleans()) and _key(low) > _key(high):
            low, high = high, low
        return Between(path, low, high)
    if kind == "in":
        if path == ("created",):
            path = ("n",)
        return In(path, draw(st.lists(bound(records, path), min_size=1, max_size=3)))
    op = draw(st.sampled_from(["==", "<", "<=", ">", ">="]))
    if op != "==" and draw(st.integers(0, 11)) == 0:
        return Compare(path, op, None)  # `n < null`: the language has it, it selects nothing
    return Compare(path, op, draw(bound(records, path)))


@st.composite
def filters(draw: st.DrawFn, records: list[dict[str, Any]]) -> Expr:
    leaves = st.recursive(
        st.one_of(leaf(records), leaf(records).map(Not)),  # negated leaves often
        lambda kids: st.one_of(
            st.lists(kids, min_size=2, max_size=3).map(lambda xs: all_of(*xs)),
            st.lists(kids, min_size=2, max_size=3).map(lambda xs: any_of(*xs)),
            kids.map(Not),
        ),
        max_leaves=4,
    )
    return draw(leaves)


def _list_tests(expr: Expr) -> list[Quantified]:
    if isinstance(expr, Quantified):
        return [expr]
    if isinstance(expr, Not):
        return _list_tests(expr.operand)
    return [q for op in getattr(expr, "operands", ()) for q in _list_tests(op)]


def _by_hand(test: Quantified) -> Callable[[Reference], set[str]]:
    """The engine's own selection for a list test, from a clause written by hand."""
    values = list(test.values)

    def run(ref: Reference) -> set[str]:
        if test.quantifier == "all":
            return ref.engine_ids({"and": [{"tags": {"inq": [v]}} for v in values]})
        some = ref.engine_ids({"tags": {"inq": values}})
        return some if test.quantifier == "any" else ref.everything - some

    return run


def _split(truth: set[str], everything: set[str]) -> str:
    if not truth:
        return "selects nothing"
    return "selects everything" if truth == everything else "mixed"


@given(records=datasets(), data=st.data())
@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_plans_and_predicate_agree_with_the_reference(
    engine: LoopBackEngine, records: list[dict[str, Any]], data: st.DataObject
) -> None:
    expr = data.draw(filters(records), label="filter")
    ref = Reference(engine, records)
    truth = ref.ids(expr)
    event(_split(truth, ref.everything))
    for test in _list_tests(expr):
        assert ref.ids(test) == _by_hand(test)(ref), f"reference disagrees with juggler: {test}"
    for typing, types in TYPINGS.items():
        accept = predicate(expr, types=types, now=NOW)
        assert {r["id"] for r in records if accept(r)} == truth, f"predicate, {typing} types"
        for connector in ("memory", None):
            the_plan = plan(expr, connector=connector, types=types, now=NOW)
            note(f"{typing} types, {connector}: {the_plan.where} residual {the_plan.residual}")
            selected = ref.engine_ids(the_plan.where)
            assert truth <= selected, f"{typing} types, {connector}: plan lost records"
            rest = the_plan.residual
            finish = predicate(rest, types=types, now=NOW) if rest is not None else None
            kept = {r["id"] for r in records if r["id"] in selected and (not finish or finish(r))}
            assert kept == truth, f"{typing} types, {connector}: plan + residual"
            if the_plan.exact:
                assert selected == truth, f"{typing} types, {connector}: exact plan"


def test_class_escapes_on_every_unicode_digit_and_letter_class(engine: LoopBackEngine) -> None:
    """``\\d \\w \\b`` are ASCII in JavaScript: every character Unicode calls a digit
    (Nd), a number (No, Nl) or a letter outside ASCII, alone and inside a word, through
    qwhere's predicate and V8."""
    import unicodedata

    from qwhere.jsregex import JsRegex

    numbers = [
        chr(u)
        for u in range(0x80, 0x10000)
        if not 0xD800 <= u <= 0xDFFF and unicodedata.category(chr(u)) in ("Nd", "No", "Nl")
    ]
    chars = [*numbers[::3], "\u00e9", "\u0131", "\u017f", "\u212a", "\u00b5", "7", "a", "_"]
    strings = [*chars, *(f"a{c}" for c in chars), *(f"{c}1" for c in chars)]
    patterns = [(p, f) for p in [*PATTERNS, "^\\D+$", "[\\w]", "[^\\W]", "\\B"] for f in ("", "i")]
    for (pattern, flags), v8 in zip(patterns, engine.regex(patterns, strings), strict=True):
        assert not isinstance(v8, str), v8
        rx = JsRegex(pattern, flags)
        mine = {i for i, s in enumerate(strings) if rx.search(s)}
        wrong = sorted(mine ^ v8)[:5]
        assert not wrong, f"/{pattern}/{flags} on {[strings[i] for i in wrong]}"
        accept = predicate(Match("name", pattern, flags))
        assert {i for i, s in enumerate(strings) if accept({"name": s})} == v8


def test_ordering_against_null_read_back_as_the_engine_selects(engine: LoopBackEngine) -> None:
    """``{"n": {"gte": null}}``: juggler's compare() calls null and a missing value equal to
    null, so gte/lte select them and gt/lt select nothing; from_where must read it so."""
    from qwhere import from_where

    records = [
        {"id": "r0", "n": 1},
        {"id": "r1", "n": None},
        {"id": "r2"},
        {"id": "r3", "n": 0},
        {"id": "r4", "name": None},
    ]
    ref = Reference(engine, records)
    for field in ("n", "name"):
        for op in ("gt", "gte", "lt", "lte"):
            where = {field: {op: None}}
            want = ref.engine_ids(where)
            for types in (None, FULL):
                back = from_where(where, types=types)
                accept = predicate(back, types=types)
                assert {r["id"] for r in records if accept(r)} == want, (where, back, types)
