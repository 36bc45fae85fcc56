"""Real servers for qwhere's tests: PostgreSQL, MariaDB and a LoopBack 3 REST app.

``PostgresServer`` and ``MariaDBServer`` start a private database server in a
temporary directory on a free ``127.0.0.1`` port and stop it by its pid.
``LoopBackApp`` runs ``node tests/lb3/server.js``: a LoopBack 3 application whose
datasource is the memory connector, ``loopback-connector-postgresql`` or
``loopback-connector-mysql``, serving the job-service REST contract
(docs/rest.md) at ``/api`` plus a few admin routes (``/__qwhere/...``) that the
tests use to define models and load records.

Everything raises ``ServerUnavailable`` when it cannot start (missing binaries,
a failed start-up; the message carries the tail of the server's log), and
``ServerAnswer`` when the REST app answers a request with a non-2xx status.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import selectors
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Literal, Self, TypeAlias

import requests

__all__ = [
    "CONNECTORS",
    "Connector",
    "DatabaseSettings",
    "LoopBackApp",
    "MariaDBServer",
    "PostgresServer",
    "ServerAnswer",
    "ServerUnavailable",
    "ensure_node_modules",
]

HERE: Final = Path(__file__).resolve().parent
SERVER_JS: Final = HERE / "server.js"
NODE_MODULES: Final = HERE / "node_modules"
_REQUIRED_MODULES: Final = (
    "loopback",
    "loopback-connector-postgresql",
    "loopback-connector-mysql",
)

Connector: TypeAlias = Literal["memory", "postgresql", "mysql"]
CONNECTORS: Final[tuple[Connector, ...]] = ("memory", "postgresql", "mysql")

#: LoopBack ``order``: ``"name DESC"``, ``"a ASC, b DESC"`` or a list of those.
Order: TypeAlias = str | Sequence[str]

_LOG_TAIL: Final = 4000  # characters of a server log quoted in errors
_DATABASE: Final = "qwhere"


class ServerUnavailable(RuntimeError):
    """A server could not be started: binaries missing, start-up failed or timed out."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ServerAnswer(Exception):
    """The LoopBack app answered with a non-2xx HTTP status.

    ``status`` is the HTTP status, ``body`` the decoded JSON body (or the raw
    text when it is not JSON) and ``message`` LoopBack's ``error.message``:
    for a 5xx that is only ``"Internal Server Error"``, as a production
    LoopBack 3 answers, so ``reason`` carries the real error message (the
    database's, e.g. ``operator does not exist: text ->> unknown``) and
    ``code`` its code (``"42883"``, ``"ER_PARSE_ERROR"``), from the app's
    ``X-Lb3-Error`` / ``X-Lb3-Error-Code`` headers.
    """

    def __init__(
        self,
        method: str,
        url: str,
        status: int,
        body: Any,
        reason: str | None = None,
        code: str | None = None,
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.body = body
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        self.message: str = str(message) if message is not None else str(body)[:2000]
        self.reason: str = reason if reason is not None else self.message
        self.code = code
        super().__init__(f"{method} {url} -> HTTP {status}: {self.reason}")


@dataclass(frozen=True)
class DatabaseSettings:
    """How the LoopBack connector reaches a database (TCP on 127.0.0.1)."""

    host: str
    port: int
    database: str
    user: str
    password: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "database": self.database,
            "user": self.user,
            "password": self.password,
        }


# -- helpers ------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, limit: int = _LOG_TAIL) -> str:
    try:
        text = path.read_text("utf-8", "replace")
    except OSError as exc:
        return f"(no log at {path}: {exc})"
    return text[-limit:] if text else "(empty log)"


def _wait_for_port(
    port: int, deadline: float, alive: Callable[[], bool], *, what: str, log: Path
) -> None:
    """Poll until 127.0.0.1:port accepts a connection, ``alive()`` stays true."""
    delay = 0.01
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        if not alive():
            raise ServerUnavailable(f"{what} exited during start-up; log tail:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise ServerUnavailable(f"{what} did not listen on {port} in time; log:\n{_tail(log)}")
        time.sleep(delay)  # a readiness poll: nothing to block on until the port opens
        delay = min(delay * 2, 0.2)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_and_wait(pid: int, timeout: float, sig: int = signal.SIGTERM) -> None:
    """Send ``sig`` to ``pid`` and wait for it to go; SIGKILL after ``timeout``."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + timeout
    delay = 0.01
    while _pid_alive(pid):
        with contextlib.suppress(ChildProcessError):
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done == pid:
                return
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
        time.sleep(delay)  # waiting on a process that is not our child
        delay = min(delay * 2, 0.1)


def _run(
    argv: Sequence[str], *, what: str, log: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise ServerUnavailable(f"{what}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ServerUnavailable(f"{what} timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        extra = f"\nlog tail:\n{_tail(log)}" if log is not None and log.exists() else ""
        raise ServerUnavailable(
            f"{what} failed (exit {proc.returncode}): {shlex.join(argv)}\n"
            f"{proc.stdout[-_LOG_TAIL:]}{proc.stderr[-_LOG_TAIL:]}{extra}"
        )
    return proc


class _Stoppable:
    """Context-manager plumbing and an atexit safety net for ``stop()``."""

    def __init__(self) -> None:
        atexit.register(self.stop)

    def stop(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# -- PostgreSQL ---------------------------------------------------------------

_PG_BINDIRS: Final = ("/usr/lib/postgresql/15/bin",)


def _pg_bindir() -> Path:
    candidates = [os.environ.get("QWHERE_PG_BINDIR", ""), *_PG_BINDIRS]
    for candidate in candidates:
        if candidate and (Path(candidate) / "pg_ctl").is_file():
            return Path(candidate)
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).parent
    raise ServerUnavailable(
        "PostgreSQL 15 binaries not found (looked in $QWHERE_PG_BINDIR, "
        f"{', '.join(_PG_BINDIRS)} and PATH); install postgresql-15"
    )


class PostgresServer(_Stoppable):
    """A private PostgreSQL cluster (``initdb --locale=C.UTF-8 -E UTF8``).

    Started on construction; ``stop()`` stops it (``pg_ctl stop``, then the
    postmaster's pid) and removes its directory.  As root the server runs as
    the ``postgres`` user, which must exist.  Durability is off
    (``fsync``, ``synchronous_commit``, ``full_page_writes``): it is a test
    database.
    """

    def __init__(self, *, timeout: float = 60.0, database: str = _DATABASE) -> None:
        super().__init__()
        started = time.monotonic()
        self.bindir = _pg_bindir()
        self._as_root = os.geteuid() == 0
        if self._as_root and shutil.which("runuser") is None and shutil.which("su") is None:
            raise ServerUnavailable("running as root, but neither runuser nor su exists")
        self.dir = Path(tempfile.mkdtemp(prefix="qwhere-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = 0
        self.database = database
        self._running = False
        try:
            if self._as_root:
                shutil.chown(self.dir, "postgres", "postgres")
            self.dir.chmod(0o700)
            self._as_owner(
                [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "--no-sync",
                ],
                what="initdb",
            )
            self._start(timeout)
            _run(
                [
                    str(self.bindir / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    database,
                ],
                what="createdb",
                log=self.log,
            )
            self.version = _run(
                [str(self.bindir / "postgres"), "--version"], what="postgres --version"
            ).stdout.strip()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def _as_owner(
        self, argv: Sequence[str], *, what: str, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        if self._as_root:
            if shutil.which("runuser") is not None:
                argv = ["runuser", "-u", "postgres", "--", *argv]
            else:
                argv = ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(argv)]
        return _run(argv, what=what, log=self.log, timeout=timeout)

    def _start(self, timeout: float) -> None:
        last: ServerUnavailable | None = None
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=50"
            )
            try:
                self._as_owner(
                    [
                        str(self.bindir / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-l",
                        str(self.log),
                        "-o",
                        options,
                        "-w",
                        "-t",
                        str(int(timeout)),
                        "start",
                    ],
                    what="pg_ctl start",
                    timeout=timeout + 10,
                )
            except ServerUnavailable as exc:
                last = exc
                if "could not bind" not in _tail(self.log):
                    raise
                continue
            self._running = True
            return
        assert last is not None
        raise last

    @property
    def settings(self) -> DatabaseSettings:
        return DatabaseSettings("127.0.0.1", self.port, self.database, "postgres")

    def _postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server (by pid if ``pg_ctl stop`` fails) and delete its files."""
        if getattr(self, "_running", False):
            self._running = False
            pid = self._postmaster_pid()
            try:
                self._as_owner(
                    [str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"],
                    what="pg_ctl stop",
                    timeout=60,
                )
            except ServerUnavailable:
                if pid is not None:
                    _kill_and_wait(pid, 10, signal.SIGQUIT)
        directory = getattr(self, "dir", None)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
            self.dir = None  # type: ignore[assignment]


# -- MariaDB ------------------------------------------------------------------


def _which(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (
            f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").is_file() else None
        )
        if found:
            return found
    return None


class MariaDBServer(_Stoppable):
    """A private MariaDB server (``mariadb-install-db`` + ``mariadbd --no-defaults``).

    The database is created with ``CHARACTER SET utf8mb4`` (so its tables default
    to ``utf8mb4_general_ci``) and a user ``qwhere`` without a password may do
    anything to it over TCP from 127.0.0.1.  Durability is off
    (``innodb_flush_log_at_trx_commit=0``, ``innodb_doublewrite=0``).
    """

    USER: Final = "qwhere"

    def __init__(self, *, timeout: float = 60.0, database: str = _DATABASE) -> None:
        super().__init__()
        started = time.monotonic()
        mariadbd = _which("mariadbd", "mysqld")
        install_db = _which("mariadb-install-db", "mysql_install_db")
        client = _which("mariadb", "mysql")
        if mariadbd is None or install_db is None or client is None:
            raise ServerUnavailable(
                "MariaDB not found (need mariadbd, mariadb-install-db and mariadb on PATH "
                "or in /usr/sbin); install mariadb-server"
            )
        self._client = client
        self.dir = Path(tempfile.mkdtemp(prefix="qwhere-mariadb-"))
        self.data = self.dir / "data"
        self.socket = self.dir / "mysql.sock"
        self.pid_file = self.dir / "mysqld.pid"
        self.log = self.dir / "server.log"
        self.database = database
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        user = ["--user=root"] if os.geteuid() == 0 else []
        try:
            _run(
                [
                    install_db,
                    "--no-defaults",
                    f"--datadir={self.data}",
                    *user,
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                ],
                what="mariadb-install-db",
                timeout=180,
            )
            self._start(mariadbd, user, timeout)
            self.sql(
                f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4;"
                f"CREATE USER '{self.USER}'@'127.0.0.1';"
                f"GRANT ALL ON `{database}`.* TO '{self.USER}'@'127.0.0.1';"
            )
            self.version = self.sql("SELECT VERSION()").strip()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - started

    def _start(self, mariadbd: str, user: list[str], timeout: float) -> None:
        last: ServerUnavailable | None = None
        for _attempt in range(3):
            self.port = free_port()
            with self.log.open("ab") as log:
                self._proc = subprocess.Popen(
                    [
                        mariadbd,
                        "--no-defaults",
                        f"--datadir={self.data}",
                        f"--socket={self.socket}",
                        f"--port={self.port}",
                        "--bind-address=127.0.0.1",
                        *user,
                        f"--pid-file={self.pid_file}",
                        f"--log-error={self.log}",
                        "--innodb-flush-log-at-trx-commit=0",
                        "--innodb-doublewrite=0",
                        "--innodb-buffer-pool-size=64M",
                        "--skip-log-bin",
                        "--max-connections=50",
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            proc = self._proc
            try:
                _wait_for_port(
                    self.port,
                    time.monotonic() + timeout,
                    lambda proc=proc: proc.poll() is None,  # type: ignore[misc]
                    what="mariadbd",
                    log=self.log,
                )
            except ServerUnavailable as exc:
                last = exc
                alive = proc.poll() is None
                self.stop_process()
                if alive or "Address already in use" not in _tail(self.log):
                    raise
                continue
            return
        assert last is not None
        raise last

    def sql(self, statements: str, *, database: str | None = None) -> str:
        """Run SQL as root over the server's socket; the output is tab-separated.

        ``database`` is the default database (``None``: none, qualify names).
        A failing statement raises ``ServerUnavailable`` with the client's message.
        """
        proc = _run(
            [
                self._client,
                "--no-defaults",
                f"--socket={self.socket}",
                *([f"--database={database}"] if database is not None else []),
                "-uroot",
                "--batch",
                "--skip-column-names",
                "-e",
                statements,
            ],
            what="mariadb client",
            log=self.log,
        )
        return proc.stdout

    @property
    def settings(self) -> DatabaseSettings:
        return DatabaseSettings("127.0.0.1", self.port, self.database, self.USER)

    def stop_process(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        pid = proc.pid
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int(self.pid_file.read_text().split()[0])
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if pid != proc.pid:
            _kill_and_wait(pid, 30)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Stop the server (SIGTERM to the pid in its pid file) and delete its files."""
        if getattr(self, "_proc", None) is not None:
            self.stop_process()
        directory = getattr(self, "dir", None)
        if directory is not None:
            shutil.rmtree(directory, ignore_errors=True)
            self.dir = None  # type: ignore[assignment]


# -- the LoopBack app ---------------------------------------------------------


def ensure_node_modules(timeout: float = 600.0) -> None:
    """Run ``npm ci`` in tests/lb3 unless loopback and both connectors are installed."""
    if all((NODE_MODULES / name / "package.json").is_file() for name in _REQUIRED_MODULES):
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ServerUnavailable("node and npm are required for the LoopBack 3 app (tests/lb3)")
    try:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerUnavailable(f"`npm ci` in {HERE} timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0:
        raise ServerUnavailable(
            f"`npm ci` in {HERE} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-_LOG_TAIL:]}\n{proc.stderr[-_LOG_TAIL:]}"
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class LoopBackApp(_Stoppable):
    """A running ``node tests/lb3/server.js``: LoopBack 3 over one connector.

    ``url`` is the REST root (``http://127.0.0.1:PORT/api``) that qwhere's
    client takes.  ``database`` is required for the SQL connectors.
    ``page_cap`` caps every find at that many records (also when ``limit`` is
    absent, 0 or larger); ``set_page_cap`` / ``page_cap()`` change it while the
    app runs.  Several apps may use one database at once (each with its own
    cap): a model defined on one is seen by another after
    ``define(..., migrate=False)``, which attaches the model without dropping
    its table.

    Requests are synchronous; one app is not meant for several threads.
    """

    def __init__(
        self,
        connector: Connector,
        database: DatabaseSettings | None = None,
        *,
        page_cap: int | None = None,
        timeout: float = 60.0,
        install: bool = True,
    ) -> None:
        super().__init__()
        if connector not in CONNECTORS:
            raise ValueError(f"connector must be one of {CONNECTORS}, not {connector!r}")
        if connector != "memory" and database is None:
            raise ValueError(f"the {connector} connector needs database settings")
        started = time.monotonic()
        self.connector: Connector = connector
        self.database = database
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
        self._threads: list[threading.Thread] = []
        self._defined: dict[str, str] = {}  # name -> definition JSON
        self._plurals: dict[str, str] = {}  # name -> plural
        self._session = requests.Session()
        if install:
            ensure_node_modules()
        node = shutil.which("node")
        if node is None:
            raise ServerUnavailable("`node` was not found on PATH (needed for tests/lb3)")
        config: dict[str, Any] = {"connector": connector, "port": 0, "pageCap": page_cap}
        if database is not None:
            config["database"] = database.as_json()
        env = {k: v for k, v in os.environ.items() if k not in ("NODE_OPTIONS", "DEBUG")}
        env["TZ"] = "UTC"
        try:
            self._proc = subprocess.Popen(
                [node, str(SERVER_JS), _dumps(config)],
                cwd=HERE,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
            )
            self._drain(self._proc.stderr)
            self.port = self._await_ready(timeout)
        except BaseException:
            self.stop()
            raise
        self._drain(self._proc.stdout)
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/api"
        self.startup_seconds = time.monotonic() - started

    # -- process --------------------------------------------------------------

    def _drain(self, stream: Any) -> None:
        def run() -> None:
            with stream:
                for line in stream:
                    self._stderr_tail.append(line.decode("utf-8", "replace").rstrip("\n"))

        thread = threading.Thread(target=run, daemon=True, name="lb3-drain")
        thread.start()
        self._threads.append(thread)

    def stderr_tail(self) -> str:
        """The last lines the app wrote (stderr, and stdout after the ready line)."""
        return "\n".join(self._stderr_tail)

    def _await_ready(self, timeout: float) -> int:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        buffer = bytearray()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    raise self._startup_failure(f"did not get ready within {timeout:.0f}s")
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise self._startup_failure("exited before it was ready")
                buffer += chunk
        line = bytes(buffer[: buffer.index(b"\n")])
        try:
            ready = json.loads(line)
            port = ready["listening"]
        except (ValueError, KeyError, TypeError) as exc:
            raise self._startup_failure(
                f"printed {line[:500]!r} instead of the ready line"
            ) from exc
        if not isinstance(port, int):
            raise self._startup_failure(f"printed a bad ready line {line[:500]!r}")
        return port

    def _startup_failure(self, reason: str) -> ServerUnavailable:
        proc = self._proc
        code = None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            code = proc.wait()
        for thread in self._threads:
            thread.join(timeout=2)
        return ServerUnavailable(
            f"LoopBack 3 app ({self.connector}) {reason} (exit code {code}); stderr:\n"
            f"{self.stderr_tail()[-_LOG_TAIL:] or '(empty)'}"
        )

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        """Stop the app (SIGTERM to its pid, SIGKILL after 10 s)."""
        proc, self._proc = getattr(self, "_proc", None), None
        session = getattr(self, "_session", None)
        if session is not None:
            session.close()
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for thread in self._threads:
            thread.join(timeout=2)

    # -- HTTP -----------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        timeout: float = 60.0,
    ) -> Any:
        """One request to ``base + path``; the decoded JSON, or ``ServerAnswer``."""
        url = self.base + path
        data = None if body is None else _dumps(body).encode("utf-8")
        headers = {"Content-Type": "application/json"} if data is not None else None
        try:
            response = self._session.request(
                method, url, params=params, data=data, headers=headers, timeout=timeout
            )
        except requests.RequestException as exc:
            state = "running" if self.alive() else "dead"
            raise ServerUnavailable(
                f"LoopBack 3 app ({self.connector}, {state}) did not answer {method} {path}: "
                f"{exc}\nstderr:\n{self.stderr_tail()[-_LOG_TAIL:]}"
            ) from exc
        try:
            decoded: Any = response.json()
        except ValueError:
            decoded = response.text
        if not 200 <= response.status_code < 300:
            reason = response.headers.get("X-Lb3-Error")
            code = response.headers.get("X-Lb3-Error-Code")
            raise ServerAnswer(
                method,
                response.url,
                response.status_code,
                decoded,
                None if reason is None else urllib.parse.unquote(reason),
                None if code is None else urllib.parse.unquote(code),
            )
        return decoded

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """``GET {url}{path}`` (path relative to ``/api``, e.g. ``"/Jobs/count"``)."""
        return self.request("GET", "/api" + path, params=params)

    # -- admin ----------------------------------------------------------------

    def define(
        self,
        name: str,
        properties: Mapping[str, Any],
        *,
        plural: str | None = None,
        migrate: bool = True,
    ) -> str:
        """(Re)define model ``name`` and expose it at ``/api/<plural>``; returns the plural.

        The first definition of a name+properties automigrates the model's table
        (dropping it if it was there); defining it again the same way does
        nothing.  ``migrate=False`` attaches the model to an existing table.
        """
        spec = _dumps({"properties": properties, "plural": plural})
        if self._defined.get(name) == spec:
            return self._plurals[name]
        body: dict[str, Any] = {"name": name, "properties": properties, "migrate": migrate}
        if plural is not None:
            body["plural"] = plural
        answer = self.request("POST", "/__qwhere/define", body=body)
        self._defined[name] = spec
        self._plurals[name] = str(answer["plural"])
        return self._plurals[name]

    def load(self, model: str, records: Sequence[Mapping[str, Any]]) -> int:
        """Replace every row of ``model`` by ``records`` (in order); the created count."""
        answer = self.request(
            "POST", "/__qwhere/load", body={"model": model, "records": list(records)}
        )
        return int(answer["count"])

    def columns(self, model: str) -> dict[str, str]:
        """The SQL column types automigrate gave ``model`` (information_schema).

        PostgreSQL reports ``data_type`` (``text``, ``timestamp with time zone``);
        MariaDB ``column_type`` (``varchar(512)``).  Memory: ``{}``.
        """
        answer = self.request("GET", "/__qwhere/columns", params={"model": model})
        return {str(k): str(v) for k, v in answer["columns"].items()}

    def info(self) -> dict[str, Any]:
        """Versions, connector settings, table collation and the page cap."""
        answer: dict[str, Any] = self.request("GET", "/__qwhere/info")
        return answer

    def set_page_cap(self, cap: int | None) -> None:
        """Change the page cap while the app runs (``None``: no cap)."""
        self.request("POST", "/__qwhere/config", body={"pageCap": cap})

    @contextlib.contextmanager
    def page_cap(self, cap: int | None) -> Iterator[None]:
        """``with app.page_cap(3): ...``: the cap inside, the previous one after."""
        previous = self.info()["pageCap"]
        self.set_page_cap(cap)
        try:
            yield
        finally:
            self.set_page_cap(previous)

    # -- the REST contract ----------------------------------------------------

    def find(
        self,
        model_plural: str,
        where: Mapping[str, Any] | None = None,
        order: Order | None = None,
        limit: int | None = None,
        skip: int | None = None,
        fields: Any = None,
    ) -> list[dict[str, Any]]:
        """``GET {url}/<plural>?filter=JSON``: the records, as LoopBack sends them."""
        query: dict[str, Any] = {}
        if where is not None:
            query["where"] = where
        if order is not None:
            query["order"] = order if isinstance(order, str) else list(order)
        if limit is not None:
            query["limit"] = limit
        if skip is not None:
            query["skip"] = skip
        if fields is not None:
            query["fields"] = fields
        return self.find_filter(model_plural, query)

    def find_filter(self, model_plural: str, filter: Any) -> list[dict[str, Any]]:
        """``GET {url}/<plural>?filter=<any JSON>`` (``None``: no filter parameter)."""
        params = None if filter is None else {"filter": _dumps(filter)}
        answer = self.get(f"/{model_plural}", params)
        if not isinstance(answer, list):
            raise ServerAnswer("GET", f"{self.url}/{model_plural}", 200, answer)
        return answer

    def ids(
        self, model_plural: str, where: Mapping[str, Any] | None = None, **kw: Any
    ) -> list[str]:
        """The ``id`` of every record ``find`` returns, in order."""
        return [str(r["id"]) for r in self.find(model_plural, where, **kw)]

    def count(self, model_plural: str, where: Mapping[str, Any] | None = None) -> int:
        """``GET {url}/<plural>/count?where=JSON``."""
        params = None if where is None else {"where": _dumps(where)}
        answer = self.get(f"/{model_plural}/count", params)
        return int(answer["count"])
