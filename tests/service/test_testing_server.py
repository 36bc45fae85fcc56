"""qwhere.testing: the demo data, the REST contract, and LoopBack's semantics.

The engine's answers come from two places: the recorded probes
(tests/conformance/probes.json, observed on loopback-datasource-juggler) and, when
node is available, the live juggler bridge, which replays the exact queries a
listing sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

import qwhere
from qwhere.schema import FieldType
from qwhere.testing import BadFilter, Collection, ServiceURL, serve

from .conftest import STATUS_API

PROBES: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "conformance" / "probes.json").read_text("utf-8")
)
# Probes where the demo service knowingly answers differently (see docs/rest.md).
KNOWN_DIFFERENCES = {
    111: "null on a string field: LoopBack's comparator leaves it unordered",
}
# Probes LoopBack answers and the demo service refuses (400), each pinned by a part of
# its message: a refusal not listed here, or listed with another reason, fails.
REFUSED = {
    22: "nin selects records with *some* element outside the list",
    24: "comparing with a whole list",
    25: "comparing with a whole list",
    29: "operator 'exists' is not supported",
    30: "operator 'exists' is not supported",
    31: "operator 'exists' is not supported",
    32: "operator 'foo' is not supported",
    33: "has 2 operators",
    35: "a number in a path as a position in a list",
    37: "has 2 operators",
    47: "LoopBack's inq never matches dates",
    48: "LoopBack's nin never matches dates",
    53: "decides like only on text fields",
    58: "has 2 operators",
    81: "has 2 operators",
    83: "invalid regular expression /(/",
    88: "selects nothing for eq on a dotted path",
    91: "reads '/qasm/i' as a plain pattern",
    95: "operator 'name' is not supported",
    105: "'nor' is not supported",
    106: "'not' is not supported",
}


def _types(properties: dict[str, Any]) -> dict[tuple[str, ...], FieldType]:
    kinds = {"date": FieldType.DATETIME, "string": FieldType.STRING}
    types: dict[tuple[str, ...], FieldType] = {}
    for key, spec in properties.items():
        kind = spec["type"]
        if kind == ["string"]:
            types[(key,)] = FieldType.STRING_LIST
        elif isinstance(kind, str) and kind in kinds:
            types[(key,)] = kinds[kind]
        elif isinstance(kind, dict):
            for sub, sub_kind in kind.items():
                if sub_kind in kinds:
                    types[(key, sub)] = kinds[sub_kind]
    return types


@pytest.mark.parametrize("probe", PROBES["probes"], ids=lambda p: f"{p['n']:03d}")
def test_recorded_probes(probe: dict[str, Any]) -> None:
    """Every probe qwhere can read answers as LoopBack did; the rest answer 400."""
    if probe["n"] in KNOWN_DIFFERENCES:
        pytest.skip(KNOWN_DIFFERENCES[probe["n"]])
    collection = Collection([dict(r) for r in PROBES["records"]], _types(PROBES["properties"]))
    try:
        got = [r["id"] for r in collection.find(probe["filter"])]
    except BadFilter as exc:
        if "error" in probe:
            assert probe["error"]["status"] in (400, None)
            assert probe["n"] not in REFUSED, "LoopBack failed; REFUSED lists it as answered"
        else:  # qwhere refuses to guess, for the reason pinned
            assert str(exc).startswith("Invalid where clause: ")
            assert probe["n"] in REFUSED, f"refused, and not in REFUSED: {exc}"
            assert REFUSED[probe["n"]] in str(exc)
        return
    assert probe["n"] not in REFUSED, f"REFUSED lists probe {probe['n']}, answered {got}"
    assert "error" not in probe, f"LoopBack failed with {probe['error']}, we answered {got}"
    if probe["ordered"]:
        assert got == probe["ids"]
    else:
        assert sorted(got) == sorted(probe["ids"])


def test_order_probes_are_all_matched() -> None:
    orders = [p for p in PROBES["probes"] if "order" in p["filter"] and "error" not in p]
    assert len([p for p in orders if p["n"] not in KNOWN_DIFFERENCES]) >= 6


# -- the live engine, on the queries a listing really sends -------------------------------------

JOB_PROPERTIES = {
    "id": {"type": "string", "id": True},
    "name": {"type": "string"},
    "status": {"type": "string"},
    "creationDate": {"type": "date"},
    "tags": {"type": ["string"]},
    "backend": {"type": {"name": "string"}},
    "experimentTag": {"type": "string"},
    "shots": {"type": "number"},
    "hubInfo": {"type": "object"},
}


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    try:
        from conformance.engine import EngineError, LoopBackEngine
    except ImportError as exc:  # pragma: no cover
        pytest.skip(f"conformance bridge not importable: {exc}")
    try:
        live = LoopBackEngine()
    except (EngineError, OSError) as exc:
        pytest.skip(f"LoopBack engine unavailable: {exc}")
    try:
        yield live
    finally:
        live.close()


def test_listing_queries_select_what_loopback_selects(engine: Any) -> None:
    """Replay every query of several listings (keyset pages, probes, counts) on juggler."""
    with serve(jobs=150, undated=8, page_cap=7, seed=9) as url:
        service = url.service
        stamp = service.jobs.records[3]["creationDate"]
        for n in range(12):  # a burst of equal timestamps across pages
            tie = dict(service.jobs.records[n])
            tie["id"] = f"{n * 37 % 101:024x}"
            tie["creationDate"] = stamp
            service.jobs.add(tie)
        records = service.snapshot()
        for workers in (1, 4):
            provider = qwhere.connect(url, workers=workers, page_size=7)
            for descending in (True, False):
                assert len(provider.jobs(limit=None, descending=descending)) == len(records)
                provider.jobs(limit=None, descending=descending, status=["DONE", "ERROR"])
            provider.jobs(limit=20, skip=3, descending=False)
            provider.count_jobs(job_tags=["bell"], start_datetime=datetime(2024, 1, 1, tzinfo=UTC))
        log = list(service.log)
    checked = 0
    for entry in log:
        if entry.route == "/Jobs":
            query = dict(entry.filter or {})
            query["limit"] = min(int(query.get("limit") or 7), 7)
            ours = [r["id"] for r in service.jobs.find(query)]
            theirs = engine.find(JOB_PROPERTIES, records, query)
            assert theirs.error is None, theirs
            assert ours == theirs.ids, query
            checked += 1
        elif entry.route == "/Jobs/count":
            where = json.loads(entry.params["where"]) if "where" in entry.params else None
            theirs = engine.count(JOB_PROPERTIES, records, where)
            assert service.jobs.count(where) == theirs.count
            checked += 1
    assert checked > 100


# -- demo data ------------------------------------------------------------------------------------


def test_demo_data(demo: ServiceURL) -> None:
    service = demo.service
    jobs = service.jobs.records
    assert len(jobs) == 2000
    assert {j["status"] for j in jobs} == set().union(*STATUS_API.values())
    assert len(service.backends.records) >= 6
    assert len(service.reservations.records) == 6
    dates = sorted(datetime.fromisoformat(j["creationDate"]) for j in jobs)
    assert dates[-1] - dates[0] > timedelta(days=700)
    assert all(j["creationDate"].endswith("Z") for j in jobs)
    assert len({tag for j in jobs for tag in j["tags"]}) >= 8
    assert any(not j["tags"] for j in jobs)
    assert len({j.get("experimentTag") for j in jobs}) > 10
    assert len({j["id"] for j in jobs}) == 2000


def test_demo_data_is_deterministic() -> None:
    with serve(jobs=50) as a, serve(jobs=50) as b, serve(jobs=50, seed=1) as c:
        assert a.service.snapshot() == b.service.snapshot()
        assert a.service.snapshot() != c.service.snapshot()
        assert [a.service.fault_for(n) for n in range(50)] == [
            b.service.fault_for(n) for n in range(50)
        ]


def test_undated_jobs_are_null_or_missing() -> None:
    with serve(jobs=10, undated=4) as url:
        undated = [r for r in url.service.jobs.records if not r.get("creationDate")]
    assert len(undated) == 4
    assert sum("creationDate" in r for r in undated) == 2  # two null, two missing


# -- the REST contract ---------------------------------------------------------------------------


def get(url: str, path: str, **params: Any) -> requests.Response:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    return requests.get(url + path, params=encoded, timeout=10)


def test_jobs_filter(demo: ServiceURL) -> None:
    answer = get(
        demo,
        "/Jobs",
        filter={
            "where": {"status": "RUNNING"},
            "order": "creationDate ASC",
            "limit": 3,
            "skip": 1,
            "fields": {"id": True, "creationDate": True},
        },
    )
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("application/json")
    rows = answer.json()
    running = sorted(
        (r for r in demo.service.jobs.records if r["status"] == "RUNNING"),
        key=lambda r: r["creationDate"],
    )
    assert [r["id"] for r in rows] == [r["id"] for r in running[1:4]]
    assert all(set(r) == {"id", "creationDate"} for r in rows)
    assert set(get(demo, "/Jobs", filter={"fields": ["id"], "limit": 1}).json()[0]) == {"id"}
    excluded = get(demo, "/Jobs", filter={"fields": {"hubInfo": False}, "limit": 1}).json()[0]
    assert "hubInfo" not in excluded and "status" in excluded
    assert len(get(demo, "/Jobs", filter={"limit": 0}).json()) == 2000  # 0: no limit
    assert len(get(demo, "/Jobs", filter={"limit": "2"}).json()) == 2
    assert len(get(demo, "/Jobs", filter={"offset": 1998}).json()) == 2


def test_count_and_one_job(demo: ServiceURL) -> None:
    count = get(demo, "/Jobs/count", where={"status": "COMPLETED"}).json()
    assert count == {"count": sum(r["status"] == "COMPLETED" for r in demo.service.jobs.records)}
    assert get(demo, "/Jobs/count").json() == {"count": 2000}
    job = demo.service.jobs.records[7]
    assert get(demo, f"/Jobs/{job['id']}").json() == job
    missing = get(demo, "/Jobs/nope")
    assert missing.status_code == 404
    assert missing.json() == {
        "error": {
            "statusCode": 404,
            "name": "Error",
            "message": 'Unknown "Job" id "nope".',
            "code": "MODEL_NOT_FOUND",
        }
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"filter": "[]"}, "The query filter [] is not an object"),
        ({"filter": "{nope"}, "not valid JSON"),
        ({"filter": {"limit": -1}}, "The limit parameter -1 is not valid"),
        ({"filter": {"limit": 2.5}}, "The limit parameter 2.5 is not valid"),
        ({"filter": {"order": "name UP"}}, 'The order "name UP" has invalid direction'),
        ({"filter": {"where": {"status": {"inq": "RUNNING"}}}}, "Invalid where clause"),
        ({"filter": {"where": []}}, "is not an object"),
    ],
)
def test_bad_filters_are_400(demo: ServiceURL, params: dict[str, Any], message: str) -> None:
    answer = get(demo, "/Jobs", **params)
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["statusCode"] == 400 and error["name"] == "Error"
    assert message in error["message"]


def test_unknown_routes_and_methods(demo: ServiceURL) -> None:
    assert get(demo, "/Nothing").status_code == 404
    assert requests.get(demo.replace("/api", "/other"), timeout=5).status_code == 404
    assert requests.post(demo + "/Jobs", timeout=5).status_code in (404, 405, 501)


def test_backends_and_reservations(demo: ServiceURL) -> None:
    backends = get(demo, "/Backends").json()
    assert {"name", "configuration", "status"} <= set(backends[0])
    assert {"n_qubits", "simulator", "input_allowed", "basis_gates"} <= set(
        backends[0]["configuration"]
    )
    assert {"operational", "pending_jobs", "status_msg"} <= set(backends[0]["status"])
    reservations = get(demo, "/Reservations", filter={"order": "initialDate ASC"}).json()
    assert len(reservations) == 6
    assert {
        "id",
        "backendName",
        "initialDate",
        "endDate",
        "creationDate",
        "mode",
        "hubInfo",
    } <= set(reservations[0])


def test_page_cap_latency_and_token() -> None:
    with serve(jobs=30, page_cap=4, latency=0.05, token="t0k") as url:
        started = datetime.now(UTC)
        answer = requests.get(url + "/Jobs", headers={"X-Access-Token": "t0k"}, timeout=5)
        assert len(answer.json()) == 4
        assert datetime.now(UTC) - started >= timedelta(seconds=0.05)
        assert len(requests.get(url + "/Jobs?access_token=t0k", timeout=5).json()) == 4
        denied = requests.get(url + "/Jobs", timeout=5)
        assert denied.status_code == 401
        assert denied.json()["error"]["code"] == "AUTHORIZATION_REQUIRED"
        assert url.service.request_count("/Jobs") == 3


def test_inserts_between_requests() -> None:
    with serve(jobs=10, inserts=3) as url:
        requests.get(url + "/Jobs", timeout=5)
        requests.get(url + "/Jobs/count", timeout=5)  # only listings insert
        assert len(url.service.jobs.records) == 13


def test_options_are_checked() -> None:
    for bad in ({"jobs": -1}, {"page_cap": 0}, {"faults": 2.0}, {"fault_kinds": ("boom",)}):
        with pytest.raises(ValueError), serve(**bad):
            pass
    with pytest.raises(TypeError), serve(colour="red"):
        pass


def test_command_line_entry_point() -> None:
    import subprocess
    import sys

    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qwhere.testing",
            "--jobs",
            "5",
            "--port",
            "0",
            "--until-stdin-closes",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert len(requests.get(url + "/Jobs", timeout=5).json()) == 5
    finally:
        assert child.stdin is not None
        child.stdin.close()
        assert child.wait(timeout=10) == 0


@pytest.mark.parametrize(
    ("order", "descending", "want"),
    [
        # the memory connector: ids as JavaScript compares them, undated jobs last descending
        ("memory", True, ["b1", "a1", "B2", "A2", "null", "missing"]),
        # PostgreSQL: code points (same as JavaScript here), NULL first when descending
        ("postgresql", True, ["null", "missing", "b1", "a1", "B2", "A2"]),
        ("postgresql", False, ["A2", "B2", "a1", "b1", "null", "missing"]),
        # MariaDB (utf8mb4_general_ci): case-insensitive, NULL last when descending
        ("mysql", True, ["B2", "b1", "A2", "a1", "null", "missing"]),
        ("mysql", False, ["missing", "null", "a1", "A2", "b1", "B2"]),
    ],
)
def test_orders_like_a_connector(order: str, descending: bool, want: list[str]) -> None:
    """``serve(order=...)`` sorts and compares ids, and places nulls, like that connector."""
    with serve(jobs=0, order=order) as url:
        jobs = url.service.jobs
        for ident in ("a1", "B2", "b1", "A2"):
            jobs.add({"id": ident, "status": "RUNNING", "creationDate": "2024-01-01T00:00:00.000Z"})
        jobs.add({"id": "null", "status": "RUNNING", "creationDate": None})
        jobs.add({"id": "missing", "status": "RUNNING"})
        d = "DESC" if descending else "ASC"
        answer = get(url, "/Jobs", filter={"order": f"creationDate {d}, id {d}"})
        got = [r["id"] for r in answer.json()]
        # null and missing compare equal: only their places are pinned
        assert [i for i in got if i not in ("null", "missing")] == [
            i for i in want if i not in ("null", "missing")
        ]
        assert sorted(got.index(i) for i in ("null", "missing")) == sorted(
            want.index(i) for i in ("null", "missing")
        )
        # the comparison agrees with the order, and the key never leaks into records
        lower = get(url, "/Jobs", filter={"where": {"id": {"lt": "b1"}}, "order": "id ASC"})
        keys = [r["id"] for r in lower.json()]
        assert all(set(r) <= {"id", "status", "creationDate"} for r in answer.json())
        if order == "mysql":
            assert keys == ["a1", "A2"] and get(url, "/Jobs/count", where={"id": "B1"}).json() == {
                "count": 1
            }
        else:
            assert keys == ["A2", "B2", "a1"]
    with pytest.raises(ValueError, match="unknown order"):
        serve(order="oracle").__enter__()
