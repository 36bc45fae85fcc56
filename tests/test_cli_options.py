"""Every option of ``qwhere jobs`` and ``qwhere backends``, through the installed script,
each checked against the full listing expected from the demo data (tests/service/oracle.py:
the documented order and each argument's meaning written by hand), not only that the rows
shown match.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from service.oracle import STATUS_API, Record, created, expected_ids

from qwhere.testing import serve
from qwhere.testing.data import DEFAULT_ANCHOR

_SCRIPT = Path(sys.executable).with_name("qwhere")
QWHERE = [str(_SCRIPT)] if _SCRIPT.exists() else [shutil.which("qwhere") or "qwhere"]
TOKEN = "options-token"
JOBS = 400
ALL = "100000"  # a --limit above the number of jobs: the whole listing


class Demo:
    def __init__(self, url: str, records: list[Record], backends: list[Record]) -> None:
        self.url = url
        self.records = records
        self.backends = backends
        self.by_id = {r["id"]: r for r in records}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("QWHERE_")}
        env.update({"QWHERE_URL": self.url, "QWHERE_TOKEN": TOKEN})
        return subprocess.run(
            [*QWHERE, *args], capture_output=True, text=True, timeout=120, env=env
        )

    def ids(self, *args: str) -> list[str]:
        result = self.run("jobs", *args, "--format", "json")
        assert result.returncode == 0, result.stderr
        return [row["id"] for row in json.loads(result.stdout)]

    def expect(self, accept: Callable[[Record], bool], **options: Any) -> list[str]:
        return expected_ids(self.records, accept, **options)


@pytest.fixture(scope="module")
def demo() -> Iterator[Demo]:
    with serve(token=TOKEN, jobs=JOBS, undated=6, anchor=DEFAULT_ANCHOR) as url:
        service = url.service  # type: ignore[attr-defined]
        records = [dict(r) for r in service.jobs.records]
        backends = [dict(b) for b in service.backends.records]
        yield Demo(url, records, backends)


def _everything(_record: Record) -> bool:
    return True


def test_the_default_listing_is_the_newest_ten(demo: Demo) -> None:
    assert demo.ids() == demo.expect(_everything, limit=10)


def test_limit_large_lists_every_job_in_order(demo: Demo) -> None:
    got = demo.ids("--limit", ALL)
    assert len(got) == JOBS + 6
    assert got == demo.expect(_everything)


@pytest.mark.parametrize(
    ("skip", "limit"), [(0, 7), (5, 7), (17, 40), (JOBS - 3, 10), (JOBS + 50, 5)]
)
def test_skip_and_limit(demo: Demo, skip: int, limit: int) -> None:
    got = demo.ids("--skip", str(skip), "--limit", str(limit))
    assert got == demo.expect(_everything, skip=skip, limit=limit)


def test_skip_with_ascending_and_a_filter(demo: Demo) -> None:
    got = demo.ids("--status", "DONE", "--skip", "3", "--limit", "12", "--ascending")
    want = demo.expect(
        lambda r: r["status"] in STATUS_API["DONE"], skip=3, limit=12, descending=False
    )
    assert got == want


def test_ascending_lists_undated_first(demo: Demo) -> None:
    got = demo.ids("--ascending", "--limit", ALL)
    assert got == demo.expect(_everything, descending=False)
    assert created(next(r for r in demo.records if r["id"] == got[0])) is None


@pytest.mark.parametrize("statuses", [["DONE"], ["ERROR"], ["QUEUED", "RUNNING"], ["INITIALIZING"]])
def test_status(demo: Demo, statuses: list[str]) -> None:
    args = [a for s in statuses for a in ("--status", s)]
    api = set().union(*(STATUS_API[s] for s in statuses))
    want = demo.expect(lambda r: r["status"] in api)
    assert want
    assert demo.ids(*args, "--limit", ALL) == want


@pytest.mark.parametrize(
    ("tags", "operator"), [(["bell"], None), (["bell", "ghz"], "AND"), (["bell", "ghz"], "OR")]
)
def test_tags_and_the_tags_operator(demo: Demo, tags: list[str], operator: str | None) -> None:
    args = [a for t in tags for a in ("--tag", t)]
    if operator:
        args += ["--tags-operator", operator]
    wanted = set(tags)
    if operator == "AND":
        want = demo.expect(lambda r: wanted <= set(r.get("tags") or ()))
    else:
        want = demo.expect(lambda r: bool(wanted & set(r.get("tags") or ())))
    assert want
    assert demo.ids(*args, "--limit", ALL) == want


def test_the_tags_operator_is_not_ignored(demo: Demo) -> None:
    both = demo.ids("--tag", "bell", "--tag", "ghz", "--tags-operator", "AND", "--limit", ALL)
    either = demo.ids("--tag", "bell", "--tag", "ghz", "--tags-operator", "OR", "--limit", ALL)
    assert set(both) < set(either)


@pytest.mark.parametrize("backend", ["ibmq_lima", "ibm_perth", "no_such_backend"])
def test_backend(demo: Demo, backend: str) -> None:
    want = demo.expect(lambda r: (r.get("backend") or {}).get("name") == backend)
    assert demo.ids("--backend", backend, "--limit", ALL) == want
    assert want or backend == "no_such_backend"


@pytest.mark.parametrize("pattern", ["^bell", "ghz-0002", "0{3}7", "^Calibration-000[0-4]", "ü"])
def test_name_is_a_regular_expression_matched_anywhere(demo: Demo, pattern: str) -> None:
    rx = re.compile(pattern)
    want = demo.expect(lambda r: isinstance(r.get("name"), str) and bool(rx.search(r["name"])))
    assert demo.ids("--name", pattern, "--limit", ALL) == want
    assert want or pattern == "ü"


def test_since_and_until(demo: Demo) -> None:
    """Bounds taken from jobs' own dates, so that jobs sit on both (both are inclusive)."""
    dated = sorted({r["creationDate"] for r in demo.records if r.get("creationDate")})
    low, high = dated[len(dated) // 4], dated[len(dated) // 2]
    since, until = datetime.fromisoformat(low), datetime.fromisoformat(high)

    def within(r: Record) -> bool:
        when = created(r)
        return when is not None and since <= when <= until

    got = demo.ids("--since", low, "--until", high, "--limit", ALL)
    want = demo.expect(within)
    assert got == want
    on_bounds = [i for i in want if created(demo.by_id[i]) in (since, until)]
    assert len(on_bounds) >= 2
    assert demo.ids("--since", high, "--limit", ALL) == demo.expect(
        lambda r: (created(r) or since.min.replace(tzinfo=UTC)) >= until
    )
    assert demo.ids("--until", low, "--limit", ALL) == demo.expect(
        lambda r: created(r) is not None and created(r) <= since  # type: ignore[operator]
    )


def test_where_with_every_option_at_once(demo: Demo) -> None:
    got = demo.ids(
        "--where", "not (tags any [test])",
        "--status", "DONE", "--status", "ERROR",
        "--tag", "calibration", "--tag", "nightly", "--tags-operator", "OR",
        "--backend", "ibmq_lima",
        "--name", "-0",
        "--since", "2023-06-01T00:00:00Z",
        "--skip", "1", "--limit", "5", "--ascending",
    )  # fmt: skip
    api = STATUS_API["DONE"] | STATUS_API["ERROR"]

    def accept(r: Record) -> bool:
        when = created(r)
        return (
            "test" not in (r.get("tags") or ())
            and r["status"] in api
            and bool({"calibration", "nightly"} & set(r.get("tags") or ()))
            and (r.get("backend") or {}).get("name") == "ibmq_lima"
            and "-0" in (r.get("name") or "")
            and when is not None
            and when >= datetime(2023, 6, 1, tzinfo=UTC)
        )

    assert got == demo.expect(accept, skip=1, limit=5, descending=False)
    assert demo.expect(accept, limit=None)


@pytest.mark.parametrize("fmt", ["ndjson", "csv", "table"])
def test_every_format_lists_the_same_jobs(demo: Demo, fmt: str) -> None:
    want = demo.expect(lambda r: r["status"] in STATUS_API["RUNNING"], limit=15)
    result = demo.run("jobs", "--status", "RUNNING", "--limit", "15", "--format", fmt)
    assert result.returncode == 0, result.stderr
    if fmt == "ndjson":
        got = [json.loads(line)["id"] for line in result.stdout.splitlines()]
    elif fmt == "csv":
        got = [row["id"] for row in csv.DictReader(io.StringIO(result.stdout))]
    else:
        lines = result.stdout.splitlines()[1:]
        got = [line.split()[0] for line in lines]
        assert len(got) == len(want)
        assert all(w.startswith(g.rstrip("…").rstrip(".")) for g, w in zip(got, want, strict=True))
        return
    assert got == want


@pytest.mark.parametrize("connector", ["memory", "unknown"])
def test_connector_and_verbose(demo: Demo, connector: str) -> None:
    result = demo.run(
        "jobs", "--tag", "bell", "--connector", connector, "-v", "--limit", ALL, "--format", "json"
    )
    assert result.returncode == 0, result.stderr
    assert [j["id"] for j in json.loads(result.stdout)] == demo.expect(
        lambda r: "bell" in (r.get("tags") or ())
    )
    assert f"connector {connector}" in result.stderr and "where {" in result.stderr
    assert TOKEN not in result.stderr


# -- backends ---------------------------------------------------------------------------


def _backend_names(demo: Demo, *args: str) -> list[str]:
    result = demo.run("backends", *args, "--format", "json")
    assert result.returncode == 0, result.stderr
    return sorted(b["name"] for b in json.loads(result.stdout))


def _backends(demo: Demo, accept: Callable[[Record], bool]) -> list[str]:
    return sorted(b["name"] for b in demo.backends if accept(b))


def test_backends_lists_every_backend(demo: Demo) -> None:
    assert _backend_names(demo) == _backends(demo, _everything)


@pytest.mark.parametrize("qubits", [1, 6, 7, 27, 33])
def test_backends_min_qubits(demo: Demo, qubits: int) -> None:
    want = _backends(demo, lambda b: b["configuration"]["n_qubits"] >= qubits)
    assert _backend_names(demo, "--min-qubits", str(qubits)) == want


@pytest.mark.parametrize("inputs", [["job"], ["runtime"], ["job", "runtime"]])
def test_backends_input_allowed_all_of_them(demo: Demo, inputs: list[str]) -> None:
    args = [a for i in inputs for a in ("--input", i)]
    want = _backends(demo, lambda b: set(inputs) <= set(b["configuration"]["input_allowed"]))
    assert want
    assert _backend_names(demo, *args) == want


def test_backends_where_and_options_together(demo: Demo) -> None:
    got = _backend_names(
        demo, "--where", "operational and not simulator", "--min-qubits", "7", "--input", "runtime"
    )
    want = _backends(
        demo,
        lambda b: (
            b["status"]["operational"]
            and not b["configuration"]["simulator"]
            and b["configuration"]["n_qubits"] >= 7
            and "runtime" in b["configuration"]["input_allowed"]
        ),
    )
    assert got == want
