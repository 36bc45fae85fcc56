"""The planner, the predicate and from_where, without the engine (see tests/conformance)."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from qwhere import (
    FilterValueError,
    JobStatus,
    Q,
    UnsupportedWhereError,
    from_where,
    parse,
    predicate,
    schemas,
)
from qwhere import explain as explain_any
from qwhere import plan as plan_any
from qwhere.status import API_STATUSES, from_api
from qwhere.values import RelativeTime

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

# This file pins the memory profile (LoopBack's reference engine); tests/test_profiles.py
# covers the SQL profiles and connector=None.
plan = functools.partial(plan_any, connector="memory")
explain = functools.partial(explain_any, connector="memory")


def test_design_card_plan_is_exact() -> None:
    p = plan("tags all [a, b] and name ~ /^bell/")
    assert p.exact and p.residual is None
    assert p.where == {"and": [{"tags": "a"}, {"tags": "b"}, {"name": {"regexp": "/^bell/"}}]}


def test_callables_stay_on_the_client() -> None:
    def heavy(record: Any) -> bool:
        return bool(record.get("n", 0) > 3)

    p = plan((Q.status == "RUNNING") & Q.test(heavy))
    assert p.where == {"status": "RUNNING"}
    assert not p.exact
    assert str(p.residual) == "<test test_callables_stay_on_the_client.<locals>.heavy>"
    assert "Python callable" in str(p)


def test_job_status_expansion_covers_every_api_status() -> None:
    # every API status maps back to exactly one JobStatus ...
    assert from_api("TRANSPILING") is JobStatus.INITIALIZING
    assert from_api("PENDING_IN_QUEUE") is JobStatus.QUEUED
    assert from_api("ERROR_SOMETHING_NEW") is JobStatus.ERROR
    with pytest.raises(ValueError):
        from_api("WHATEVER")
    # ... and each JobStatus filter selects exactly its API statuses
    for api, status in API_STATUSES.items():
        for candidate in JobStatus:
            accept = predicate(Q.status == candidate, schemas.JOBS)
            assert accept({"status": api}) is (candidate is status), (api, candidate)


def test_status_filters_compile_to_api_statuses() -> None:
    assert plan("status == INITIALIZING", schemas.JOBS).where == {
        "status": {"inq": ["CREATING", "CREATED", "TRANSPILING", "TRANSPILED"]}
    }
    not_error = plan("status != ERROR", schemas.JOBS)
    assert not_error.exact
    assert not_error.where == {
        "or": [
            {"status": None},
            {"status": ""},
            {"status": {"regexp": "/^(?![\\s\\S]*(?:^ERROR_))/"}},
        ]
    }
    assert plan("status in [DONE, ERROR]", schemas.JOBS).where == {
        "or": [{"status": "COMPLETED"}, {"status": {"regexp": "/^ERROR_/"}}]
    }


def test_dates_go_out_as_utc_and_aware_values_are_converted() -> None:
    plus5 = datetime(2024, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=5)))
    assert plan(Q.created >= plus5, schemas.JOBS).where == {
        "creationDate": {"gte": "2024-01-01T07:00:00.000Z"}
    }


def test_naive_datetimes_are_local_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        where = plan(Q.created >= datetime(2024, 1, 1, 5, 30), schemas.JOBS).where
        assert where == {"creationDate": {"gte": "2024-01-01T00:00:00.000Z"}}
        # a date is a whole local day
        day = plan("created == 2024-01-02", schemas.JOBS).where
        assert day == {
            "and": [
                {"creationDate": {"gte": "2024-01-01T18:30:00.000Z"}},
                {"creationDate": {"lt": "2024-01-02T18:30:00.000Z"}},
            ]
        }
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_relative_times_resolve_when_planned() -> None:
    tree = parse("created > now - 7d", schemas.JOBS)
    first = plan(tree, schemas.JOBS, now=NOW).where
    later = plan(tree, schemas.JOBS, now=NOW + timedelta(days=1)).where
    assert first == {"creationDate": {"gt": "2024-05-25T12:00:00.000Z"}}
    assert later == {"creationDate": {"gt": "2024-05-26T12:00:00.000Z"}}
    accept = predicate(tree, schemas.JOBS, now=NOW)
    assert accept({"creationDate": "2024-05-30T00:00:00Z"})
    assert not accept({"creationDate": "2024-05-20T00:00:00Z"})


def test_between_dates_includes_both_days() -> None:
    accept = predicate("created between 2024-01-01 and 2024-02-01", schemas.JOBS)
    local = datetime(2024, 2, 1, 23, 59).astimezone()
    assert accept({"creationDate": local.isoformat()})
    assert not accept({"creationDate": (local + timedelta(minutes=1)).isoformat()})


@pytest.mark.parametrize("name", ["and", "or", "nor", "$where", "a.$gt"])
def test_field_names_that_are_operators_are_rejected(name: str) -> None:
    with pytest.raises(FilterValueError, match="operator"):
        plan(Q[name] == 1)


def test_dict_values_never_reach_the_server() -> None:
    with pytest.raises(TypeError, match="dict"):
        _ = Q.name == {"neq": "x"}


def test_explain_shows_where_residual_and_reasons() -> None:
    text = explain("tags none [x] and name ~ /a/i", schemas.JOBS)
    assert '"regexp": "/a/i"' in text
    assert "residual (checked on the client):\n  tags none [x]" in text
    assert "exact: no" in text
    assert "some element" in text


def test_large_integers_are_not_sent_as_exact() -> None:
    p = plan(Q.n == 2**60)
    assert p.where == {} and p.residual == (Q.n == 2**60)


# ---- the predicate ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "record", "expected"),
    [
        ("x == 1", {"x": 1}, True),
        ("x == 1", {"x": True}, False),
        ("x == true", {"x": 1}, False),
        ("x == 1", {"x": 1.0}, True),
        ("x == a", {"x": ["b", "a"]}, True),
        ("x != a", {"x": ["a", "b"]}, True),  # LoopBack: some element differs
        ("x != a", {"x": ["a"]}, False),
        ("x != a", {"x": []}, True),
        ("x != a", {}, True),
        ("x != null", {"x": None}, False),
        ("x == null", {}, True),
        ("x > 1", {}, False),
        ("x > 1", {"x": None}, False),
        ("not x > 1", {}, True),
        ("x ~ /^$/", {"x": ""}, False),  # LoopBack never matches an empty string
        ("x ~ /^.$/", {"x": "\U0001f600"}, False),  # JavaScript sees two code units
        ("x ~ /\\w/", {"x": "é"}, False),  # \w is ASCII in JavaScript
        ("x < '\ue000'", {"x": "\U0001f600"}, True),  # UTF-16 order
        ("x exists", {"x": []}, True),
        ("x exists", {"x": None}, False),
        ("tags all [a, b]", {"tags": ["b", "a"]}, True),
        ("tags all [a, b]", {"tags": "a"}, False),
        ("tags all []", {}, True),
        ("tags none [a]", {}, True),
        ("tags any [a]", {"tags": "a"}, True),
        ("backend.name == q", {"backend": {"name": "q"}}, True),
        ("backend.name == q", {"backend": None}, False),
        ("x in [a, null]", {}, True),
        ("x between 1 and 3", {"x": [0, 2]}, True),
    ],
)
def test_predicate_semantics(text: str, record: dict[str, Any], expected: bool) -> None:
    assert predicate(text)(record) is expected


def test_predicate_reads_objects() -> None:
    class Backend:
        def __init__(self, raw: dict[str, Any]) -> None:
            self.raw = raw

        def __qwhere_record__(self) -> dict[str, Any]:
            return self.raw

    seen: list[object] = []
    b = Backend({"configuration": {"n_qubits": 7}, "status": {"operational": True}})
    accept = predicate(
        parse("n_qubits >= 5 and operational", schemas.BACKENDS) & Q.test(seen.append),
        schemas.BACKENDS,
    )
    accept(b)
    assert seen == [b]

    class Plain:
        n_qubits = 3

    assert predicate("n_qubits < 5")(Plain())


def test_predicate_is_generated_code_not_a_tree_walk() -> None:
    accept = predicate("status in [RUNNING, ERROR] and tags all [a, b]")
    source = accept.__qwhere_source__  # type: ignore[attr-defined]
    assert source.startswith("def _predicate(r):")
    assert "RUNNING" not in source  # values are constants, never pasted into code


def test_predicate_values_cannot_inject_code() -> None:
    evil = "x') or __import__('os').system('echo pwned') or ('"
    accept = predicate(Q.name == evil)
    assert accept({"name": evil}) and not accept({"name": "x"})


# ---- from_where ----------------------------------------------------------------------------


def test_from_where_reads_the_seed_db_filter() -> None:
    tree = from_where({"hubInfo.hub.name": "ibm-q"})
    assert str(tree) == "hubInfo.hub.name == ibm-q"
    assert predicate(tree)({"hubInfo": {"hub": {"name": "ibm-q"}}})


def test_from_where_reads_loopback_forms() -> None:
    where = {
        "or": {"0": {"status": "RUNNING"}, "1": {"name": {"regexp": "/^a/i"}}},
        "n": {"between": [1, 2]},
        "tags": {"inq": ["x"]},
        "creationDate": {"gte": "2024-01-01T00:00:00.000Z"},
    }
    tree = from_where(where, types=schemas.JOBS.server_types())
    assert str(tree) == (
        "(status == RUNNING or name ~ /^a/i) and n between 1 and 2 and tags in [x] "
        "and creationDate >= 2024-01-01T00:00Z"
    )
    assert from_where({}) == parse("true")
    assert from_where({"or": []}) == parse("false")


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ({"status": {"inq": ["a"], "nin": ["b"]}}, "2 operators; LoopBack applies only the first"),
        ({"name": {"like": 5}}, "like takes a pattern string"),
        ({"backend": {"name": "x"}}, 'write {"backend.name": ...}'),
        ({"x": {"exists": True}}, "selects nothing for exists"),
        ({"nor": []}, "not supported"),
        ({"backend.name": {"eq": "x"}}, "selects nothing for eq on a dotted path"),
        ({"or": {"status": "x"}}, "must be a list"),
        ({"tags": ["a"]}, "whole list"),
        ({"backend.name": {"regexp": "/x/i"}}, "plain pattern"),
        ({"creationDate": {"inq": ["2024-01-01T00:00:00Z"]}}, "never matches dates"),
        ({"creationDate": {"gt": "yesterday"}}, "not an ISO-8601 date"),
        ({"creationDate": {"regexp": "2024"}}, "regexp against a date"),
        ({"tags": {"nin": ["a"]}}, "some* element"),
        ({"name": {"regexp": "/(/"}}, "invalid regular expression"),
        ({"name": {"foo": 1}}, "operator 'foo' is not supported"),
    ],
)
def test_from_where_refuses_what_it_cannot_mean(where: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedWhereError) as info:
        from_where(where, types=schemas.JOBS.server_types())
    assert message in str(info.value)


def test_relative_time_value_in_tree() -> None:
    assert parse("created > today", schemas.JOBS).value == RelativeTime("today")  # type: ignore[attr-defined]
    accept = predicate("created >= today - 1d", schemas.JOBS, now=NOW)
    yesterday = datetime.combine(date(2024, 5, 31), datetime.min.time()).astimezone()
    assert accept({"creationDate": yesterday.isoformat()})


def test_public_names_are_not_shadowed_by_modules() -> None:
    import importlib
    import types

    import qwhere

    for module in ("evaluator", "planner", "parser", "where", "loopback", "resolve"):
        importlib.import_module(f"qwhere.{module}")
    for name in ("predicate", "plan", "parse", "from_where", "explain"):
        assert not isinstance(getattr(qwhere, name), types.ModuleType), name


def test_from_where_reads_dates_as_loopback_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    types = schemas.JOBS.server_types()
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        bare = from_where({"creationDate": {"gt": "2024-02-01"}}, types=types)
        millis = from_where({"creationDate": {"gt": 1706745600000}}, types=types)
        expected = {"creationDate": {"gt": "2024-02-01T00:00:00.000Z"}}
        assert plan(bare, types=types).where == expected  # a bare date is UTC, as in JavaScript
        assert plan(millis, types=types).where == expected  # epoch milliseconds
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_from_where_refuses_positions_in_lists() -> None:
    with pytest.raises(UnsupportedWhereError, match="position in a list"):
        from_where({"tags.0": "a"})


def test_sub_millisecond_bounds_are_widened_not_dropped() -> None:
    p = plan("created > 2024-01-01T00:00:00.000500Z", schemas.JOBS)
    assert p.where == {"creationDate": {"gte": "2024-01-01T00:00:00.000Z"}}
    assert not p.exact
    accept = predicate("created > 2024-01-01T00:00:00.000500Z", schemas.JOBS)
    assert accept({"creationDate": "2024-01-01T00:00:00.001Z"})
    assert not accept({"creationDate": "2024-01-01T00:00:00.000Z"})


def test_generators_are_read_once() -> None:
    assert Q.x.in_(v for v in ["a", "b"]) == parse("x in [a, b]")
    assert Q.tags.all(iter(["a"])) == parse("tags all [a]")


def test_javascript_only_and_python_only_regex_syntax() -> None:
    named = predicate(r"x ~ /(?<year>\d{4})-\k<year>/")
    assert named({"x": "2024-2024"}) and not named({"x": "2024-2025"})
    for python_only in (r"(?P<y>a)", r"\Ax", r"a\Z", "(?i)x", "a*+", "[]a]"):
        with pytest.raises(ValueError, match="regular expression"):
            Q.x.matches(python_only)


def test_nested_objects_are_read_through_attributes() -> None:
    class Config:
        n_qubits = 7

    class Device:
        configuration = Config()

    assert predicate("configuration.n_qubits >= 5")(Device())
    naive = datetime(2024, 1, 1)
    aware = predicate("t >= 2024-01-01T00:00Z")
    assert aware({"t": naive}) == aware({"t": "2024-01-01T00:00:00"}) is True
