"""Connector profiles: coverage of every node by every target, and the profile rules.

What each clause *selects* on each connector is proven against the real servers in
tests/lb3 and tests/conformance; this file pins the shapes and the API.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import qwhere
from qwhere import ArgumentError, plan, schemas
from qwhere import tree as tree_module
from qwhere.evaluator import PythonGenerator
from qwhere.loopback import (
    MEMORY,
    MYSQL,
    POSTGRESQL,
    PROFILES,
    UNKNOWN,
    LoopBackGenerator,
    Profile,
    get_profile,
)
from qwhere.text import TextGenerator

NODE_TYPES = [
    cls
    for _, cls in inspect.getmembers(tree_module, inspect.isclass)
    if issubclass(cls, tree_module.Expr) and cls is not tree_module.Expr and "key" in vars(cls)
]
CONDITIONS = [
    cls for cls in NODE_TYPES if cls not in (tree_module.And, tree_module.Or, tree_module.Not)
]
ALL_PROFILES = [*PROFILES.values(), UNKNOWN]


def test_node_types_are_found() -> None:
    assert len(NODE_TYPES) >= 10 and tree_module.Compare in NODE_TYPES


@pytest.mark.parametrize("target", [LoopBackGenerator, PythonGenerator, TextGenerator])
@pytest.mark.parametrize("node", NODE_TYPES, ids=lambda c: c.__name__)
def test_every_target_renders_every_node(target: type, node: type) -> None:
    assert callable(getattr(target, node.key, None)), f"{target.__name__} has no {node.key}"


@pytest.mark.parametrize("node", CONDITIONS, ids=lambda c: c.__name__)
def test_the_loopback_target_negates_every_condition(node: type) -> None:
    name = "not_" + node.key.rstrip("_")
    assert callable(getattr(LoopBackGenerator, name, None)), f"no {name}"


@pytest.mark.parametrize("profile", ALL_PROFILES, ids=lambda p: p.name)
def test_every_profile_fills_every_entry(profile: Profile) -> None:
    for field in Profile.__attrs_attrs__:  # type: ignore[attr-defined]
        assert hasattr(profile, field.name)
    assert profile.nothing  # a clause that selects nothing, never {}


def test_connector_names() -> None:
    assert get_profile(None) is UNKNOWN
    assert get_profile("memory") is MEMORY
    assert get_profile("PostgreSQL") is POSTGRESQL
    assert get_profile("mariadb") is MYSQL and get_profile("mysql") is MYSQL
    assert get_profile(MYSQL) is MYSQL
    with pytest.raises(ArgumentError, match="unknown connector 'oracle'; known: memory, mysql"):
        get_profile("oracle")
    with pytest.raises(ArgumentError):
        get_profile(3)  # type: ignore[arg-type]


def test_a_new_connector_is_a_new_profile() -> None:
    import attrs

    strict = attrs.evolve(MEMORY, name="strict-memory", regexp=None)
    p = plan("name ~ /^bell/", schemas.JOBS, connector=strict)
    assert p.where == {"name": {"like": "%bell%"}} and not p.exact
    assert "strict-memory" in str(p)


# -- the rules the SQL connectors forced (each observed on the real servers: tests/lb3) -----


def _where(text: str, connector: str | None, **kw: Any) -> Any:
    return plan(text, schemas.JOBS, connector=connector, **kw).where


def test_neq_keeps_null_records_on_sql() -> None:
    assert _where("status != DONE", "memory") == {"status": {"neq": "COMPLETED"}}
    clause = {"or": [{"status": {"neq": "COMPLETED"}}, {"status": None}]}
    assert _where("status != DONE", "postgresql") == clause
    # MariaDB's collation makes != drop "completed": nothing exact can be sent
    assert _where("status != DONE", "mysql") == {}


def test_lists_are_json_text_on_sql() -> None:
    assert _where("tags any [a]", "memory") == {"tags": {"inq": ["a"]}}
    assert _where("tags any [a]", "postgresql") == {"tags": {"like": '%"a"%'}}
    assert _where("tags all [a, b]", "mysql") == {
        "and": [{"tags": {"like": '%"a"%'}}, {"tags": {"like": '%"b"%'}}]
    }
    assert _where("tags all [a]", None) == {"or": [{"tags": "a"}, {"tags": {"like": '%"a"%'}}]}
    assert not plan("tags all [a]", schemas.JOBS, connector="postgresql").exact


def test_dotted_paths_on_sql_read_the_json_text() -> None:
    assert _where("backend == sim", "memory") == {"backend.name": "sim"}
    # juggler refuses like on an object property; PostgreSQL's regexp reads the JSON text
    assert _where("backend == sim", "postgresql") == {"backend": {"regexp": r"/\"name\"\:\"sim\"/"}}
    assert _where("backend == sim", "mysql") == {}  # no regexp on MariaDB
    assert _where("backend == sim", None) == {}
    assert _where("backend exists", "mysql") == {"backend": {"neq": None}}


def test_regexp_per_connector() -> None:
    assert _where("name ~ /^al/i", "memory") == {"name": {"regexp": "/^al/i"}}
    assert _where("name ~ /^al/i", "postgresql") == {
        "and": [{"name": {"regexp": "/^al/i"}}, {"name": {"neq": ""}}]
    }
    assert _where("name ~ /^al/i", "mysql") == {"name": {"like": "al%"}}
    # \b is backspace in PostgreSQL: spelled out with lookarounds
    pg = _where(r"name ~ /\brun\b/", "postgresql")
    assert r"(?<=[A-Za-z0-9_])" in pg["and"][0]["name"]["regexp"]
    # . cannot be said exactly in PostgreSQL (code points, not UTF-16 units)
    assert _where("name ~ /a.b/", "postgresql") == {"name": {"like": "%a%b%"}}


def test_empty_membership_on_sql_is_a_clause_the_server_accepts() -> None:
    assert _where("id in []", "memory") == {"or": []}
    assert _where("id in []", "postgresql") == {"and": [{"id": None}, {"id": {"neq": None}}]}


def test_mysql_keeps_whole_seconds() -> None:
    p = plan("created >= 2024-01-01T00:00:00.5Z", schemas.JOBS, connector="mysql")
    assert p.where == {"creationDate": {"gte": "2024-01-01T00:00:00.000Z"}}
    assert not p.exact
    exact = plan("created >= 2024-01-01T00:00:01Z", schemas.JOBS, connector="mysql")
    assert exact.where == {"creationDate": {"gte": "2024-01-01T00:00:01.000Z"}}


def test_string_order_on_postgresql_is_exact_below_the_surrogates() -> None:
    assert plan("name > b", schemas.JOBS, connector="postgresql").exact
    assert not plan('name > "\ue000"', schemas.JOBS, connector="postgresql").exact
    assert _where("name > b", "mysql") == {}


def test_unknown_types_stay_on_the_client_on_sql() -> None:
    p = plan("x == 1", connector="postgresql")
    assert p.where == {} and "column type" in p.parts[0].reason
    assert plan("x == 1", connector="memory").where == {"x": 1}


def test_null_test_on_a_possible_list_is_not_sent_to_memory() -> None:
    # juggler raises on {"tags": null} for a list property (issue 10, item 6)
    assert plan("tags == null", connector="memory").where == {}
    assert plan("tags == null", connector="postgresql").where == {"tags": None}


# -- the API ---------------------------------------------------------------------------------


def test_explain_names_the_profile_and_the_reason() -> None:
    text = qwhere.explain("status != DONE and tags any [a]", schemas.JOBS, connector="mysql")
    assert text.startswith("connector: mysql (")
    assert "compares strings case-insensitively" in text
    assert "JSON text" in text


def test_default_profile_is_unknown() -> None:
    assert plan("name == a", schemas.JOBS).profile is UNKNOWN
    assert "connector: unknown" in str(plan("name == a", schemas.JOBS))


def test_plan_matches_reads_server_records() -> None:
    p = plan("status == ERROR and tags none [calibration]", schemas.JOBS, connector="memory")
    assert p.matches({"status": "ERROR_RUNNING_JOB", "tags": ["x"]})
    assert not p.matches({"status": "ERROR_RUNNING_JOB", "tags": ["calibration"]})
    mysql = plan('name == "bell"', schemas.JOBS, connector="mysql")
    assert mysql.where == {"name": "bell"}
    assert mysql.matches({"name": "bell"}) and not mysql.matches({"name": "BELL"})
    exact = plan("status == RUNNING", schemas.JOBS, connector="memory")
    assert exact.matches({"status": "anything"})  # exact: the server's word is final


def test_plan_matches_uses_the_plans_now() -> None:
    now = datetime(2024, 6, 1, 0, 0, 0, 500000, tzinfo=UTC)
    p = plan("created >= now - 1d", schemas.JOBS, connector="mysql", now=now)
    assert p.where == {"creationDate": {"gte": "2024-05-31T00:00:00.000Z"}}  # whole seconds
    assert p.matches({"creationDate": datetime(2024, 5, 31, 12, tzinfo=UTC)})
    assert not p.matches({"creationDate": datetime(2024, 5, 31, 0, 0, 0, 200000, tzinfo=UTC)})


def test_untyped_exact_parts_say_they_assume_declared_properties() -> None:
    # juggler compares properties a model does not declare loosely (n == 3 selects "3"):
    # an untyped plan's exactness holds for declared properties, and explain says so
    p = plan("n == 3", connector="memory")
    assert p.exact and "n is a declared property" in p.parts[0].reason
    assert "strict: false" in str(p)
    typed = plan("name == a", schemas.JOBS, connector="memory")
    assert typed.exact and typed.parts[0].reason == ""


# -- the regex rewrites are sound: every JavaScript match satisfies the like sent -----------

_PIECES = [
    "a",
    "b",
    "-",
    "_",
    "%",
    " ",
    "^",
    "$",
    ".",
    "*",
    "+",
    "?",
    "(",
    ")",
    "|",
    "[ab]",
    "[^a]",
    "\\d",
    "\\w",
    "\\b",
    "{2}",
    "{0,1}",
    "(?:",
    "\\.",
    "A",
]


def _sql_like(like: str, text: str, caseless: bool) -> bool:
    import re

    out, i = [], 0
    while i < len(like):
        c = like[i]
        if c == "\\" and i + 1 < len(like):
            out.append(re.escape(like[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "%" else "." if c == "_" else re.escape(c))
        i += 1
    flags = re.DOTALL | (re.IGNORECASE if caseless else 0)
    return re.fullmatch("".join(out), text, flags) is not None


@given(
    pieces=st.lists(st.sampled_from(_PIECES), min_size=1, max_size=7),
    flags=st.sampled_from(["", "i", "m"]),
    texts=st.lists(st.text(alphabet="abA-_% \n1", max_size=8), min_size=1, max_size=8),
)
def test_like_superset_holds_for_every_match(
    pieces: list[str], flags: str, texts: list[str]
) -> None:
    from qwhere.jsregex import JsRegex
    from qwhere.loopback.regex import like_superset
    from qwhere.testing.engine import juggler_like

    pattern = "".join(pieces)
    try:
        regex = JsRegex(pattern, flags)
    except Exception:
        return  # not a pattern qwhere accepts
    sql = like_superset(pattern, flags, caseless=True)
    juggler = like_superset(pattern, flags, plain=True, caseless=False)
    for text in texts:
        if not regex.search(text):
            continue
        if sql is not None:
            assert _sql_like(sql, text, caseless=True), (pattern, flags, sql, text)
        if juggler is not None:  # juggler's like: a regular expression, searched
            assert juggler_like({"x": {"like": juggler}}, {"x": text}), (pattern, juggler, text)


def test_a_plan_never_nests_deeper_than_loopback_takes() -> None:
    from qwhere.loopback.generator import MAX_WHERE_DEPTH, where_depth

    text = "name == null and (name == null or name exists and tags any [a, a])"
    deep = " or ".join(
        f"(name == n{i} and (tags any [t{i}] or experiment_id != s{i}))" for i in range(3)
    )
    for connector in (*PROFILES, None):
        for filter_text in (text, deep, f"({deep}) and ({text})"):
            p = plan(filter_text, schemas.JOBS, connector=connector)
            assert where_depth(p.where) <= MAX_WHERE_DEPTH, (connector, p.where)
    nested = "name == z"
    for i in range(6):  # or inside and inside or ...: two levels of LoopBack nesting each
        nested = f"(name == a{i} or (experiment_id == e{i} and ({nested} or name == b{i})))"
    kept_off = plan(f"{nested} and status == DONE", schemas.JOBS, connector="memory")
    assert kept_off.where == {"status": "COMPLETED"}
    assert "too deep for loopback/memory" in kept_off.parts[0].reason
    assert kept_off.matches({"name": "a5", "status": "COMPLETED"})
    assert not kept_off.matches({"name": "q", "status": "COMPLETED"})


def test_id_order_facts_per_profile() -> None:
    assert MEMORY.ids_never_tie() and POSTGRESQL.ids_never_tie()
    assert not MYSQL.ids_never_tie() and not UNKNOWN.ids_never_tie()
    assert MYSQL.ids_may_tie("a1", "A1") and MYSQL.ids_may_tie("b ", "B")
    assert not MEMORY.ids_may_tie("a1", "A1")
    assert MYSQL.id_key_exact_for("B2") and not MYSQL.id_key_exact_for("é")
    assert UNKNOWN.ids_may_tie("x ", "X") and not UNKNOWN.id_key_exact_for("x")
    key = POSTGRESQL.id_key()
    assert key is not None and key("\ue000") < key("\U0001f600")  # code points
    memory_key = MEMORY.id_key()
    assert memory_key is not None and memory_key("\U0001f600") < memory_key("\ue000")  # UTF-16
