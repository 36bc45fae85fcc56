"""Server-only clauses (``like`` and kin): qwhere sends them unchanged, and the demo
service decides them as juggler's memory connector does."""

from __future__ import annotations

from typing import Any

import pytest

from qwhere import FieldType, UnsupportedWhereError, from_where, plan, predicate, schemas
from qwhere.testing.engine import juggler_like
from qwhere.tree import ServerClause

from .engine import LoopBackEngine
from .test_properties import PROPERTIES

JOBS_TYPES = schemas.JOBS.server_types()
RECORDS: list[dict[str, Any]] = [
    {"id": "1", "name": "ghz-5", "tags": ["a", "bell"], "n": 5},
    {"id": "2", "name": "GHZ", "tags": []},
    {"id": "3", "name": "bell\nghz", "flag": True},
    {"id": "4", "name": None, "n": 15},
    {"id": "5"},
    {"id": "6", "name": "a%b_c", "backend": {"name": "sim"}},
    {"id": "7", "name": "x.y", "tags": ["undefined"]},
]
PATTERNS = [
    "ghz%",
    "%ghz%",
    "GHZ",
    "%h_%",
    "_",
    "%",
    "a\\%b%",
    "%.%",
    "%defin%",
    "nul%",
    "%5",
    "1%",
]


@pytest.mark.parametrize("op", ["like", "nlike", "ilike", "nilike"])
@pytest.mark.parametrize("field", ["name", "tags", "backend.name"])
@pytest.mark.parametrize("pattern", PATTERNS)
def test_the_demo_service_decides_like_as_juggler_does(
    engine: LoopBackEngine, op: str, field: str, pattern: str
) -> None:
    where = {field: {op: pattern}}
    result = engine.select(PROPERTIES, RECORDS, where)
    assert result.error is None, result.error
    ours = [r["id"] for r in RECORDS if juggler_like(where, r)]
    assert ours == result.ids


def test_the_demo_service_refuses_like_where_juggler_coerces_the_pattern() -> None:
    from qwhere.testing.engine import BadFilter, Collection

    jobs = Collection([{"id": "1", "shots": 5}], {("shots",): FieldType.NUMBER})
    with pytest.raises(BadFilter, match="decides like only on text fields, not on shots"):
        jobs.matcher({"shots": {"like": "5%"}})


def test_like_is_read_as_a_server_only_clause_and_sent_unchanged() -> None:
    tree = from_where({"name": {"like": "ghz%"}, "status": "RUNNING"})
    assert isinstance(tree.operands[0], ServerClause)  # type: ignore[attr-defined]
    for connector in ("memory", "postgresql", "mysql", None):
        p = plan(tree, connector=connector, types=JOBS_TYPES)
        assert {"name": {"like": "ghz%"}} in p.where["and"]
        assert "server-only" in str(p)


@pytest.mark.parametrize(
    "where",
    [
        {"or": [{"name": {"like": "ghz%"}}, {"tags": {"neq": "a"}}]},  # beside a residual
        {"or": [{"name": {"ilike": "x"}}, {"status": {"regexp": "/a/"}}]},  # mysql: no regexp
    ],
)
def test_a_server_only_clause_the_client_would_need_is_refused(where: dict[str, Any]) -> None:
    with pytest.raises(UnsupportedWhereError, match="can only be judged by the server"):
        plan(from_where(where, types=JOBS_TYPES), connector="mysql", types=JOBS_TYPES)


def test_a_server_only_clause_is_never_evaluated_on_the_client() -> None:
    with pytest.raises(UnsupportedWhereError, match="can only be judged by the server"):
        predicate(from_where({"name": {"like": "a%"}}))
    with pytest.raises(UnsupportedWhereError, match="takes a pattern string"):
        from_where({"name": {"like": 5}})
