"""qwhere's plan and predicate against the real LoopBack engine, over generated filters and data.

For every generated filter ``e`` and data set:

1. the engine's selection for ``plan(e).where`` contains every record ``predicate(e)``
   accepts, and keeping those ``predicate(plan(e).residual)`` accepts yields exactly them;
2. when ``plan(e).exact``, the engine's selection equals ``predicate(e)``'s;
3. ``from_where(plan(e).where)`` selects, on the engine and through ``predicate``, the same
   records as ``plan(e).where`` on the engine;
4. the engine accepts every clause qwhere sends: no error, no warning.

Run more cases locally with ``pytest tests/conformance --hypothesis-profile=thorough``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from strategies import trees_of

from qwhere import FieldType, UnsupportedWhereError, from_where, plan, predicate
from qwhere.tree import (
    FALSE,
    TRUE,
    Between,
    Compare,
    Exists,
    Expr,
    In,
    Match,
    Quantified,
    Test,
)
from qwhere.values import RelativeTime

from .engine import LoopBackEngine

PROPERTIES: dict[str, Any] = {
    "id": {"type": "string", "id": True},
    "name": {"type": "string"},
    "status": {"type": "string"},
    "n": {"type": "number"},
    "flag": {"type": "boolean"},
    "created": {"type": "date"},
    "tags": {"type": ["string"]},
    "backend": {"type": {"name": "string"}},
}
TYPES = {
    ("name",): FieldType.STRING,
    ("status",): FieldType.STRING,
    ("n",): FieldType.NUMBER,
    ("flag",): FieldType.BOOL,
    ("created",): FieldType.DATETIME,
    ("tags",): FieldType.STRING_LIST,
    ("backend", "name"): FieldType.STRING,
}
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

WORDS = [
    "a",
    "A",
    "b",
    "ab",
    "Ab",
    "ba",
    "é",
    "É",
    "",
    "x y",
    "a.b",
    "日本",
    "null",
    "RUNNING",
    "ERROR_X",
    "z",
    "\U0001f600",
    "\ue000",
    # JavaScript's line terminators (for `.`, `^` and `$` with m)
    "a\rb",
    "a\u2028b",
    "\u2029",
    # letters JavaScript's i flag and Python's case folding treat differently
    "k",
    "\u212a",
    "s",
    "\u017f",
    "\u017fim",
    "\u00df",
    "\u1e9e",
    "\u03c9",
    "\u2126",
    "\u00e5",
    "\u212b",
    "\u00b5",
    "\u03bc",
    # braces JavaScript reads as text
    "a{,2}",
    "x}",
]
words = st.sampled_from(WORDS)
numbers = st.sampled_from([-3, -1, 0, 1, 2, 3, 0.5, -1.5, 2.0, 10**6])
offsets = st.sampled_from([UTC, timezone(timedelta(hours=5)), timezone(timedelta(hours=-8))])
instants = st.builds(
    lambda day, minutes, tz: (
        datetime(2024, 5, 20, tzinfo=UTC).astimezone(tz) + timedelta(days=day, minutes=minutes)
    ),
    st.integers(-15, 15),
    st.sampled_from([0, 1, 59, 60 * 12, 60 * 23 + 59]),
    offsets,
)
days = st.builds(lambda d: date(2024, 5, 20) + timedelta(days=d), st.integers(-15, 15))
relatives = st.builds(
    lambda d: RelativeTime("now", d * 3600), st.integers(-24 * 20, 24)
) | st.builds(lambda d: RelativeTime("today", d * 86400), st.integers(-15, 2))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field value: absent (None marks absence, dropped below), null, or a value."""
    return st.one_of(st.just("<missing>"), st.none(), values)


records_strategy = st.fixed_dictionaries(
    {
        "name": _maybe(words),
        "status": _maybe(words),
        "n": _maybe(numbers),
        "flag": _maybe(st.booleans()),
        "created": _maybe(instants.map(_iso)),
        "tags": _maybe(st.lists(words, max_size=3)),
        "backend": _maybe(st.fixed_dictionaries({}, optional={"name": words | st.none()})),
    }
)


@st.composite
def datasets(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = draw(st.lists(records_strategy, min_size=1, max_size=12))
    out = []
    for i, row in enumerate(rows):
        record = {k: v for k, v in row.items() if v != "<missing>"}
        record["id"] = f"r{i:02d}"
        out.append(record)
    return out


STRINGS = [("name",), ("status",), ("backend", "name")]
SCALARS: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("name",): words,
    ("status",): words,
    ("backend", "name"): words,
    ("n",): numbers,
    ("flag",): st.booleans(),
    ("created",): st.one_of(instants, days, relatives),
}
ORDERED = [("name",), ("status",), ("n",), ("created",), ("backend", "name")]
patterns = st.sampled_from(
    [
        "^a",
        "a$",
        "b",
        "^$",
        "^.$",
        "É",
        "\\d",
        "\\w+",
        "^[a-z]+$",
        "a|b",
        "\\.",
        "^A",
        "日",
        "x y",
        "R.*G",
        "^ab?$",
        "null",
        "_X$",
        "\\bb",
        "^b",
        "b$",
        "a.b",
        "k",
        "s",
        "\u00df",
        "\u03c9",
        "\u00e5",
        "^\\w+$",
        "^[a-z]+$",
        "\u00b5",
        # JavaScript's literal braces and brackets
        "a{,2}",
        "a{",
        "x}",
        "]",
        "^a{1,2}$",
    ]
)


def _field_values(path: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return SCALARS.get(path, words)


scalar_paths = st.sampled_from(list(SCALARS))


@st.composite
def comparisons(draw: st.DrawFn) -> Expr:
    path = draw(scalar_paths)
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if op not in ("==", "!=") and path not in ORDERED:
        op = "=="
    value = draw(st.none() if draw(st.integers(0, 9)) == 0 else _field_values(path))
    if value is None and op not in ("==", "!="):
        op = "=="
    return Compare(path, op, value)


@st.composite
def memberships(draw: st.DrawFn) -> Expr:
    path = draw(st.sampled_from([*SCALARS, ("tags",)]))
    values = draw(st.lists(_field_values(path), max_size=3))
    if draw(st.integers(0, 5)) == 0:
        values.append(None)
    return In(path, values)


@st.composite
def quantifieds(draw: st.DrawFn) -> Expr:
    path = draw(st.sampled_from([("tags",), ("tags",), ("name",), ("status",)]))
    return Quantified(
        path, draw(st.sampled_from(["all", "any", "none"])), draw(st.lists(words, max_size=3))
    )


@st.composite
def matches(draw: st.DrawFn) -> Expr:
    path = draw(st.sampled_from([*STRINGS, ("tags",)]))
    return Match(path, draw(patterns), draw(st.sampled_from(["", "", "i", "m", "s", "im"])))


@st.composite
def betweens(draw: st.DrawFn) -> Expr:
    path = draw(st.sampled_from(ORDERED))
    values = _field_values(path)
    return Between(path, draw(values), draw(values))


def _odd_name(record: Any) -> bool:
    return len(str(record.get("name"))) % 2 == 1


conditions = st.one_of(
    comparisons(),
    memberships(),
    quantifieds(),
    matches(),
    betweens(),
    st.builds(Exists, st.sampled_from([*SCALARS, ("tags",), ("backend",)])),
    st.just(Compare("flag", "==", True)),
    st.just(Test(_odd_name)),
    st.sampled_from([TRUE, FALSE]),
)


filters = trees_of(conditions, max_leaves=6, width=3)


def _ids(records: list[dict[str, Any]], accept: Callable[[Any], bool]) -> set[str]:
    return {r["id"] for r in records if accept(r)}


def _engine_ids(
    engine: LoopBackEngine, records: list[dict[str, Any]], where: dict[str, Any]
) -> set[str]:
    result = engine.select(PROPERTIES, records, where)
    assert result.error is None, f"engine refused {where}: {result.error}"
    assert not result.warnings, f"engine warned on {where}: {result.warnings}"
    assert result.ids is not None
    return set(result.ids)


@given(expr=filters, records=datasets())
@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_plan_and_predicate_agree_with_loopback(
    engine: LoopBackEngine, expr: Expr, records: list[dict[str, Any]]
) -> None:
    _agree(engine, expr, records)


@given(expr=matches(), records=datasets())
@settings(
    max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
def test_regex_conditions_agree_with_loopback(
    engine: LoopBackEngine, expr: Expr, records: list[dict[str, Any]]
) -> None:
    """One ``~`` condition at a time, so that the line terminators, case-folding specials and
    braces among the words and patterns meet often."""
    _agree(engine, expr, records)


def _agree(engine: LoopBackEngine, expr: Expr, records: list[dict[str, Any]]) -> None:
    note(f"filter: {expr}")
    the_plan = plan(expr, connector="memory", types=TYPES, now=NOW)
    note(f"where: {the_plan.where}  residual: {the_plan.residual}")
    truth = _ids(records, predicate(expr, types=TYPES, now=NOW))
    selected = _engine_ids(engine, records, the_plan.where)  # property 4 inside

    # 1. superset, and the residual finishes the job exactly
    assert truth <= selected
    if the_plan.residual is not None:
        finish = predicate(the_plan.residual, types=TYPES, now=NOW)
        assert {r["id"] for r in records if r["id"] in selected and finish(r)} == truth
    # 2. exact plans select exactly
    if the_plan.exact:
        assert selected == truth
    # 3. reading the clause back selects the same records, on the engine and in Python
    back = from_where(the_plan.where, types=TYPES)
    assert _ids(records, predicate(back, types=TYPES, now=NOW)) == selected
    replan = plan(back, connector="memory", types=TYPES, now=NOW)
    assert replan.exact
    assert _engine_ids(engine, records, replan.where) == selected


def test_design_card_filter_is_exact_and_agrees(engine: LoopBackEngine) -> None:
    records = [
        {"id": "1", "status": "RUNNING", "tags": ["a", "b"]},
        {"id": "2", "status": "ERROR", "tags": ["a"]},
        {"id": "3", "status": "DONE", "tags": ["a", "b", "c"]},
        {"id": "4", "status": "ERROR", "tags": ["b", "a"]},
        {"id": "5", "tags": ["a", "b"]},
    ]
    the_plan = plan(
        "status in [RUNNING, ERROR] and tags all [a, b]", connector="memory", types=TYPES
    )
    assert the_plan.exact
    assert _engine_ids(engine, records, the_plan.where) == {"1", "4"}


@given(expr=filters, records=datasets())
@settings(
    max_examples=max(1, settings().max_examples * 2 // 5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_the_default_profile_agrees_with_loopback(
    engine: LoopBackEngine, expr: Expr, records: list[dict[str, Any]]
) -> None:
    """``connector=None`` plans, which must hold on every connector, on the memory engine."""
    note(f"filter: {expr}")
    the_plan = plan(expr, types=TYPES, now=NOW)
    note(f"where: {the_plan.where}  residual: {the_plan.residual}")
    truth = _ids(records, predicate(expr, types=TYPES, now=NOW))
    selected = _engine_ids(engine, records, the_plan.where)  # property 4 inside
    assert truth <= selected
    assert {r["id"] for r in records if r["id"] in selected and the_plan.matches(r)} == truth
    if the_plan.exact:
        assert selected == truth
    back = from_where(the_plan.where, types=TYPES)  # like is read as a server-only clause
    try:
        replan = plan(back, types=TYPES, now=NOW)
    except UnsupportedWhereError as exc:
        assert "can only be judged by the server" in str(exc)  # a like beside a superset
        return
    assert selected <= _engine_ids(engine, records, replan.where)
