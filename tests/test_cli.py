"""The command line, through the real entry point (the installed ``qwhere`` script)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_SCRIPT = Path(sys.executable).with_name("qwhere")
QWHERE = [str(_SCRIPT)] if _SCRIPT.exists() else [shutil.which("qwhere") or "qwhere"]


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("QWHERE_")}
    environment.update(env or {})
    return subprocess.run(
        [*QWHERE, *args], capture_output=True, text=True, timeout=120, env=environment
    )


@pytest.fixture(scope="module")
def service() -> Iterator[str]:
    from qwhere.testing import DEFAULT_ANCHOR, serve

    with serve(token="s3cret-token", anchor=DEFAULT_ANCHOR) as url:
        yield url


def test_explain_shows_the_plan() -> None:
    result = run(
        "explain", "status in [RUNNING, ERROR] and tags none [calibration]", "--connector", "memory"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("connector: memory (")
    assert '"regexp": "/^ERROR_/"' in result.stdout
    assert "residual (checked on the client):\n  tags none [calibration]" in result.stdout
    assert "exact: no" in result.stdout
    assert result.stderr == ""


def test_explain_with_other_schemas() -> None:
    result = run(
        "explain", "n_qubits >= 5 and operational", "--schema", "backends", "--connector", "memory"
    )
    assert result.returncode == 0
    assert '"configuration.n_qubits"' in result.stdout
    raw = run("explain", "foo.bar ~ /x/", "--schema", "none", "--connector", "memory")
    assert raw.returncode == 0 and '"foo.bar"' in raw.stdout


def test_explain_defaults_to_the_unknown_connector_and_says_why() -> None:
    result = run("explain", "tags all [a] and backend == lima")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("connector: unknown (")
    assert "dotted paths are not queryable on every connector" in result.stdout
    pg = run("explain", "backend == lima", "--connector", "postgresql")
    assert '"regexp": "/\\\\\\"name' in pg.stdout, pg.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["explain", "status == RUNING"], "unknown status 'RUNING' (did you mean RUNNING?)"),
        (["explain", "a == 1 andy"], "unexpected word 'andy'"),
        (["explain", "n_qubit > 5", "--schema", "backends"], "did you mean 'n_qubits'?"),
        (["jobs", "--where", "created > 5"], "created takes a date or time"),
        (["jobs", "--since", "yesterday-ish"], "expected YYYY-MM-DD"),
        (["jobs", "--since", "2024/12/01"], "--since: expected YYYY-MM-DD"),
        (["jobs", "--since", "2030-01-01 or true"], "not '2030-01-01 or true'"),
        (["jobs", "--until", "now - 7d) or (true"], "--until: expected YYYY-MM-DD"),
        (["jobs", "--limit", "0"], "--all lists every matching job"),
        (["jobs", "--limit", "-1"], "must not be negative"),
    ],
)
def test_bad_filters_exit_2_with_a_caret(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    if "explain" in args or "--where" in args:
        assert result.stderr.rstrip().endswith("^")


def test_bad_arguments_exit_2() -> None:
    result = run("jobs", "--format", "xml")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_jobs_on_the_demo_service_match_the_filter() -> None:
    text = "status in [RUNNING, ERROR] and tags any [calibration]"
    result = run("jobs", "--where", text, "--limit", "25", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "using the built-in demo service" in result.stderr
    jobs = json.loads(result.stdout)
    assert len(jobs) == 25
    assert all(j["status"] in ("RUNNING", "ERROR") and "calibration" in j["tags"] for j in jobs)
    created = [j["created"] for j in jobs]
    assert created == sorted(created, reverse=True)


def test_jobs_table_says_how_many_matched_on_stderr() -> None:
    result = run("jobs", "--limit", "30")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "status", "created", "tags", "backend", "name"]
    assert len(lines) == 31
    assert result.stderr.splitlines() == [
        "qwhere: no --url or QWHERE_URL given; using the built-in demo service",
        "qwhere: 30 jobs listed; more match (--limit N for more, --all for all)",
    ]


def test_jobs_options_and_formats(service: str) -> None:
    env = {"QWHERE_URL": service, "QWHERE_TOKEN": "s3cret-token"}
    result = run(
        "jobs",
        "--status",
        "DONE",
        "--status",
        "CANCELLED",
        "--tag",
        "bell",
        "--tag",
        "ghz",
        "--tags-operator",
        "and",
        "--since",
        "2024-01-01",
        "--until",
        "2024-06-30",
        "--all",
        "--ascending",
        "--format",
        "ndjson",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows
    assert all(row["status"] in ("DONE", "CANCELLED") for row in rows)
    assert all({"bell", "ghz"} <= set(row["tags"]) for row in rows)
    assert [r["created"] for r in rows] == sorted(r["created"] for r in rows)
    csv_out = run("jobs", "--limit", "3", "--format", "csv", env=env)
    table = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert len(table) == 3 and set(table[0]) == {
        "id",
        "status",
        "created",
        "backend",
        "name",
        "tags",
    }
    assert "s3cret-token" not in result.stdout + result.stderr + csv_out.stderr


def test_backends_job_and_reservations(service: str) -> None:
    env = {"QWHERE_URL": service, "QWHERE_TOKEN": "s3cret-token"}
    backends = run(
        "backends",
        "--where",
        "operational and not simulator",
        "--min-qubits",
        "7",
        "--format",
        "json",
        env=env,
    )
    assert backends.returncode == 0, backends.stderr
    found = json.loads(backends.stdout)
    assert found and all(b["n_qubits"] >= 7 and not b["simulator"] for b in found)

    first = json.loads(run("jobs", "--limit", "1", "--format", "json", env=env).stdout)[0]
    job = run("job", first["id"], env=env)
    assert job.returncode == 0 and first["id"] in job.stdout
    missing = run("job", "no-such-job", env=env)
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr

    reservations = run("reservations", env=env)
    assert reservations.returncode == 0
    assert reservations.stdout.splitlines()[0].split() == ["id", "backend", "start", "end", "mode"]


def test_network_and_auth_errors_exit_1_in_one_line(service: str) -> None:
    dead = run("jobs", "--url", "http://127.0.0.1:9/api")
    assert dead.returncode == 1
    assert dead.stderr.count("\n") == 1 and "Traceback" not in dead.stderr
    refused = run("jobs", "--url", service, "--token", "wrong-token")
    assert refused.returncode == 1
    assert "401" in refused.stderr and "wrong-token" not in refused.stderr


@pytest.mark.parametrize("command", ["jobs", "backends", "job", "reservations", "explain", "serve"])
def test_help_everywhere(command: str) -> None:
    result = run(command, "--help")
    assert result.returncode == 0
    assert "usage: qwhere" in result.stdout
    if command in ("jobs", "backends", "explain", "serve"):
        assert "examples:" in result.stdout


def test_serve_starts_and_answers() -> None:
    import time

    import requests

    proc = subprocess.Popen(
        [*QWHERE, "serve", "--port", "0", "--page-cap", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # the first line is the URL, as with -m
        answer = requests.get(
            f"{url}/Jobs", params={"filter": json.dumps({"limit": 50})}, timeout=10
        )
        assert answer.status_code == 200 and len(answer.json()) == 7
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        time.sleep(0)


def test_progress_goes_to_a_terminal_only() -> None:
    from qwhere import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    out, err = io.StringIO(), Terminal()
    assert cli.main(["jobs", "--limit", "300", "--format", "ndjson"], out=out, err=err) == 0
    assert len(out.getvalue().splitlines()) == 300
    assert "300 records" in err.getvalue() and "pages" in err.getvalue()
    piped_out, piped_err = io.StringIO(), io.StringIO()
    assert (
        cli.main(["jobs", "--limit", "300", "--format", "ndjson"], out=piped_out, err=piped_err)
        == 0
    )
    assert piped_err.getvalue() == (
        "qwhere: no --url or QWHERE_URL given; using the built-in demo service\n"
    )


def test_verbose_shows_the_where_each_request_and_the_cost_never_the_token(service: str) -> None:
    env = {"QWHERE_URL": service, "QWHERE_TOKEN": "s3cret-token"}
    result = run("jobs", "--status", "ERROR", "--all", "--connector", "memory", "-v", env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == 'qwhere: connector memory; where {"status": {"regexp": "/^ERROR_/"}}'
    requests = [line for line in lines if line.startswith("qwhere: GET /Jobs")]
    assert len(requests) >= 2  # the dated part, then the undated part (and any probes)
    first = json.loads(requests[0].split("filter=", 1)[1])
    assert first["where"]["and"][0] == {"status": {"regexp": "/^ERROR_/"}}
    listed = len(result.stdout.splitlines()) - 1
    assert lines[-2].startswith(f"qwhere: {len(requests)} requests (")
    assert lines[-2].endswith(f"{listed} listed") or "concurrent" in lines[-2]
    assert lines[-1] == f"qwhere: {listed} jobs matched"
    assert "s3cret-token" not in result.stderr + result.stdout
    quiet = run("jobs", "--status", "ERROR", "--limit", "3", "--format", "json", env=env)
    assert quiet.stderr == ""


def test_connector_is_passed_to_connect(service: str) -> None:
    env = {"QWHERE_URL": service, "QWHERE_TOKEN": "s3cret-token"}
    for connector, where in (
        ("postgresql", '"tags": {"like": "%\\"bell\\"%"}'),
        ("memory", '"tags": {"inq": ["bell"]}'),
    ):
        result = run("jobs", "--tag", "bell", "--connector", connector, "-v", env=env)
        assert result.returncode == 0, result.stderr
        first = result.stderr.splitlines()[0]
        assert first.startswith(f"qwhere: connector {connector}; where "), first
        assert where in first, first
    unknown = run("jobs", "--tag", "bell", "-v", env=env)
    assert unknown.stderr.startswith("qwhere: connector unknown; where "), unknown.stderr
    assert "client-side residual" in unknown.stderr.splitlines()[0]
    assert run("jobs", "--connector", "oracle", env=env).returncode == 2


def test_the_token_can_come_from_a_file_and_never_from_ps(service: str, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-token\n", encoding="utf-8")  # a trailing newline, as editors write
    from_file = run("backends", "--url", service, "--token-file", str(secret))
    assert from_file.returncode == 0, from_file.stderr
    assert "warning" not in from_file.stderr
    piped = subprocess.run(
        [*QWHERE, "backends", "--url", service, "--token-file", "-"],
        input="s3cret-token",
        capture_output=True,
        text=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if not k.startswith("QWHERE_")},
    )
    assert piped.returncode == 0, piped.stderr
    on_the_line = run("backends", "--url", service, "--token", "s3cret-token")
    assert on_the_line.returncode == 0
    assert "--token is visible to other users" in on_the_line.stderr
    missing = run("backends", "--url", service, "--token-file", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    both = run("backends", "--url", service, "--token", "x", "--token-file", str(secret))
    assert both.returncode == 2
    bad = tmp_path / "bad"
    bad.write_text("s3cret\ttoken", encoding="utf-8")
    refused = run("backends", "--url", service, "--token-file", str(bad))
    assert refused.returncode == 2 and "s3cret" not in refused.stderr
    helped = run("jobs", "--help")
    assert "--token-file" in helped.stdout and "QWHERE_TOKEN" in helped.stdout


# -- issue 12: a newcomer's first ten minutes ------------------------------------------------


def test_since_is_a_value_never_filter_text() -> None:
    """`--since "2030-01-01 or true"` once listed every job; now it is refused."""
    injected = run("jobs", "--since", "2030-01-01 or true", "--all", "--format", "json")
    assert injected.returncode == 2 and injected.stdout == ""
    assert "expected YYYY-MM-DD" in injected.stderr and "Traceback" not in injected.stderr
    future = run("jobs", "--since", "2030-01-01", "--all", "--format", "json")
    assert future.returncode == 0 and json.loads(future.stdout) == []


def test_the_demo_has_recent_jobs_and_the_design_card_example_finds_rows() -> None:
    recent = run("jobs", "--since", "now - 7d", "--all", "--format", "json")
    assert recent.returncode == 0, recent.stderr
    assert len(json.loads(recent.stdout)) > 5
    card = run(
        "jobs",
        "--where",
        "status in [RUNNING, ERROR] and tags all [a, b]",
        "--all",
        "--format",
        "json",
    )
    rows = json.loads(card.stdout)
    assert len(rows) >= 10
    assert all({"a", "b"} <= set(r["tags"]) and r["status"] in ("RUNNING", "ERROR") for r in rows)


@pytest.mark.parametrize("columns", [60, 80, 160])
def test_the_table_uses_the_terminal_width(columns: int) -> None:
    result = run("jobs", "--limit", "20", "--tag", "calibration", env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "status", "created", "tags", "backend", "name"]
    assert max(len(line) for line in lines) <= columns
    rows = [line.split() for line in lines[1:]]
    # the tag the filter named is shown first, so a narrow column still shows it
    assert all(row[4].startswith("cal") for row in rows)  # id status day time tags ...
    if columns >= 80:  # backend and name stay readable
        full = json.loads(
            run("jobs", "--limit", "20", "--tag", "calibration", "--format", "json").stdout
        )
        names = [j["name"] or "-" for j in full]
        assert [row[-1] for row in rows] == names
    if columns == 160:  # nothing is cut
        assert "…" not in result.stdout


def test_piped_tables_are_never_cut() -> None:
    result = run("jobs", "--limit", "50", env={"COLUMNS": ""})
    full = json.loads(run("jobs", "--limit", "50", "--format", "json").stdout)
    assert "…" not in result.stdout
    ids = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert ids == [j["id"] for j in full]


def test_the_count_and_whether_more_exist_on_stderr() -> None:
    cut = run("jobs", "--limit", "3")
    assert cut.stderr.splitlines()[-1] == (
        "qwhere: 3 jobs listed; more match (--limit N for more, --all for all)"
    )
    few = run("jobs", "--where", "name == bell-00001", "--all")
    assert few.stderr.splitlines()[-1].endswith("job matched") or "jobs matched" in few.stderr


def test_a_closed_port_says_connection_refused_soon() -> None:
    import time

    started = time.monotonic()
    result = run("jobs", "--url", "http://127.0.0.1:9/api")
    assert time.monotonic() - started < 6
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "qwhere: connection refused at http://127.0.0.1:9/api (GET /Jobs): is the service "
        "running, and is this its address and port?"
    ]


def test_retries_are_shown_on_a_terminal() -> None:
    from qwhere import cli

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    assert cli.main(["jobs", "--url", "http://127.0.0.1:9/api"], out=io.StringIO(), err=err) == 1
    lines = err.getvalue().splitlines()
    assert "retry 1 of 2 in" in lines[0] and "retry 2 of 2 in" in lines[1]
    assert lines[-1].startswith("qwhere: connection refused at http://127.0.0.1:9/api")


def test_401_and_a_missing_api_prefix_say_what_to_do(service: str) -> None:
    missing = run("jobs", "--url", service)
    assert missing.returncode == 1
    assert "(no token was given: pass --token-file PATH or set QWHERE_TOKEN)" in missing.stderr
    wrong = run("jobs", "--url", service, env={"QWHERE_TOKEN": "nope"})
    assert "(the token was refused: pass --token-file PATH or set QWHERE_TOKEN)" in wrong.stderr
    bare = service.rsplit("/api", 1)[0]
    no_api = run("jobs", "--url", bare, env={"QWHERE_TOKEN": "s3cret-token"})
    assert no_api.returncode == 1
    assert f"try --url {bare}/api" in no_api.stderr


def test_an_unknown_option_shows_the_commands_usage_and_a_suggestion() -> None:
    result = run("jobs", "--stauts", "ERROR")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: qwhere jobs ")
    assert "(--stauts: did you mean --status?)" in result.stderr


def test_argument_errors_exit_2() -> None:
    result = run("jobs", "--url", "ftp://example.org/api")
    assert result.returncode == 2 and "http:// or https://" in result.stderr


def test_version() -> None:
    from qwhere import __version__

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"qwhere {__version__}"


def test_explain_as_json() -> None:
    result = run(
        "explain",
        "status in [RUNNING, ERROR] and tags none [calibration]",
        "--connector",
        "memory",
        "--format",
        "json",
    )
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["connector"] == "memory"
    assert isinstance(document["where"], dict) and document["where"]
    assert document["residual"] == "tags none [calibration]"
    assert document["exact"] is False
    exact = json.loads(
        run("explain", "backend == x", "--connector", "memory", "--format", "json").stdout
    )
    assert exact["residual"] is None and exact["exact"] is True


def test_all_lists_everything_and_limit_0_is_refused() -> None:
    every = run("jobs", "--all", "--status", "RUNNING", "--format", "json")
    assert every.returncode == 0 and len(json.loads(every.stdout)) > 10
    zero = run("jobs", "--limit", "0")
    assert zero.returncode == 2 and "--all" in zero.stderr
    both = run("jobs", "--limit", "5", "--all")
    assert both.returncode == 2


def test_serve_and_python_m_qwhere_testing_are_one_command() -> None:
    import requests

    def options(*command: str) -> set[str]:
        text = subprocess.run(
            [*command, "--help"], capture_output=True, text=True, timeout=60
        ).stdout
        return {word.strip("[],") for word in text.split() if word.startswith("--")}

    cli = options(*QWHERE, "serve")
    module = options(sys.executable, "-m", "qwhere.testing")
    assert cli == module
    assert {"--latency", "--fault-rate", "--fault-kinds", "--token", "--anchor"} <= cli
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qwhere.testing",
            "--port",
            "0",
            "--jobs",
            "20",
            "--latency",
            "1",
            "--token",
            "tok",
            "--anchor",
            "2025-01-01",
            "--until-stdin-closes",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert requests.get(f"{url}/Jobs", timeout=10).status_code == 401
        jobs = requests.get(f"{url}/Jobs", headers={"X-Access-Token": "tok"}, timeout=10).json()
        assert len(jobs) == 20 and max(j["creationDate"] for j in jobs) < "2025-01-01"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    bad = run("serve", "--fault-kinds", "fire")
    assert bad.returncode == 2 and "unknown --fault-kinds" in bad.stderr
