"""A local service speaking the REST contract of ``docs/rest.md``, for demos and tests.

``DemoService`` holds the data and answers requests (with the injected page
cap, latency, faults and inserts); ``serve`` runs it over HTTP on 127.0.0.1 in
a thread, using only the standard library's ``http.server``.
"""

from __future__ import annotations

import json
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from ..schema import FieldType
from ..schemas import BACKENDS, JOBS
from .data import backend_records, job_records, make_job, reservation_records
from .engine import ORDERS, BadFilter, Collection

__all__ = ["FAULT_KINDS", "DemoService", "LoggedRequest", "ServiceURL", "serve"]

#: The faults a service can inject: a 5xx answer, a 429 with Retry-After, a connection
#: dropped before any answer, a body cut short.
FAULT_KINDS: tuple[str, ...] = ("5xx", "429", "drop", "truncate")
_RESERVATION_TYPES: dict[tuple[str, ...], FieldType] = {
    ("initialDate",): FieldType.DATETIME,
    ("endDate",): FieldType.DATETIME,
    ("creationDate",): FieldType.DATETIME,
}


@attrs.frozen
class LoggedRequest:
    """One request the service received: route (``/Jobs``, ``/Jobs/count``, ...) and outcome."""

    route: str
    params: Mapping[str, str]
    status: int
    fault: str | None

    @property
    def filter(self) -> dict[str, Any] | None:
        text = self.params.get("filter")
        if text is None:
            return None
        parsed: dict[str, Any] = json.loads(text)
        return parsed


class _Reply:
    def __init__(self, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self.headers = dict(headers or {})


def _error(status: int, message: str, code: str | None = None) -> _Reply:
    error: dict[str, Any] = {"statusCode": status, "name": "Error", "message": message}
    if code is not None:
        error["code"] = code
    return _Reply(status, {"error": error})


_NESTED_KEY = re.compile(r"((?:\[[^\[\]]*\])+)")


def _nest(pairs: list[tuple[str, str]], start: int) -> Any:
    """qs-style parameters (``[where][status]`` after the name) as one object; a level whose
    keys are 0, 1, ... n-1 becomes a list, as ``qs`` makes it."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        m = _NESTED_KEY.fullmatch(key[start:])
        if m is None:
            continue  # not bracketed to the end: LoopBack ignores it too
        path = m.group(1)[1:-1].split("][")
        node = root
        for step in path[:-1]:
            child = node.get(step)
            if not isinstance(child, dict):
                child = node[step] = {}
            node = child
        node[path[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if (
        items
        and all(k.isdigit() for k in items)
        and sorted(map(int, items)) == list(range(len(items)))
    ):
        return [items[str(i)] for i in range(len(items))]
    return items


class DemoService:
    """The data and behaviour of one demo service (see :func:`serve` for the options)."""

    def __init__(
        self,
        *,
        jobs: int = 2000,
        seed: int = 0,
        page_cap: int | None = None,
        latency: float = 0.0,
        faults: float = 0.0,
        fault_kinds: Sequence[str] = FAULT_KINDS,
        fault_script: Sequence[str | None] = (),
        retry_after: int = 0,
        token: str | None = None,
        inserts: int = 0,
        deletes: int = 0,
        undated: int = 0,
        extra_backends: Sequence[dict[str, Any]] = (),
        anchor: datetime | None = None,
        now: datetime | None = None,
        order: str = "memory",
    ) -> None:
        if order not in ORDERS:
            raise ValueError(f"unknown order {order!r}; known: {', '.join(ORDERS)}")
        if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
            raise ValueError(f"jobs must be a non-negative int, not {jobs!r}")
        if page_cap is not None and (not isinstance(page_cap, int) or page_cap < 1):
            raise ValueError(f"page_cap must be a positive int or None, not {page_cap!r}")
        if not 0.0 <= faults <= 1.0:
            raise ValueError(f"faults is a rate between 0 and 1, not {faults!r}")
        unknown = [
            k for k in [*fault_kinds, *fault_script] if k is not None and k not in FAULT_KINDS
        ]
        if unknown:
            raise ValueError(f"unknown fault kind(s) {unknown}; known: {', '.join(FAULT_KINDS)}")
        self.seed = seed
        self.page_cap = page_cap
        self.latency = float(latency)
        #: the fault rate; may be changed while the service runs
        self.faults = float(faults)
        self.fault_kinds = tuple(fault_kinds)
        self.fault_script = list(fault_script)
        self.retry_after = retry_after
        self.token = token
        #: jobs inserted after every job listing; may be changed while the service runs
        self.inserts = inserts
        #: jobs deleted after every job listing; may be changed while the service runs
        self.deletes = deletes
        self.now = now or datetime.now(UTC)
        #: the instant the jobs end at: ``anchor``, by default the clock (to the second)
        self.anchor = anchor if anchor is not None else self.now.replace(microsecond=0)
        backends = backend_records(extra_backends)
        self.backend_names = [b["name"] for b in backends[: len(backends) - len(extra_backends)]]
        #: how ids compare and nulls sort: "memory", "postgresql" or "mysql"
        self.order = order
        self.jobs = Collection(
            job_records(
                jobs, seed=seed, anchor=self.anchor, undated=undated, backends=self.backend_names
            ),
            JOBS.server_types(),
            ORDERS[order],
        )
        self.backends = Collection(backends, BACKENDS.server_types())
        self.reservations = Collection(reservation_records(self.now, seed=seed), _RESERVATION_TYPES)
        self._lock = threading.RLock()
        self._counter = 0
        self._inserted = 0
        self._insert_rng = random.Random(f"inserts:{seed}")
        self.log: list[LoggedRequest] = []
        self.in_flight = 0
        #: the most requests the service was answering at the same moment
        self.peak_in_flight = 0

    # -- for tests -----------------------------------------------------------------------------

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def request_count(self, route: str | None = None) -> int:
        """How many requests arrived (for ``route`` only, e.g. ``"/Jobs"``), faults included."""
        with self._lock:
            return sum(1 for r in self.log if route is None or r.route == route)

    def reset_log(self) -> None:
        with self._lock:
            self.log.clear()

    def set_faults(
        self,
        rate: float = 0.0,
        kinds: Sequence[str] = FAULT_KINDS,
        script: Sequence[str | None] = (),
        retry_after: int = 0,
    ) -> None:
        """Faults from now on: ``rate`` of ``kinds``, and ``script`` for the next requests
        (request numbers start again at 0, so the script is met in order)."""
        with self._lock:
            self.faults = float(rate)
            self.fault_kinds = tuple(kinds)
            self.fault_script = list(script)
            self.retry_after = retry_after
            self._counter = 0

    def snapshot(self) -> list[dict[str, Any]]:
        """A copy of the job records as they are now."""
        with self._lock:
            return [dict(r) for r in self.jobs.records]

    # -- requests ------------------------------------------------------------------------------

    def fault_for(self, number: int) -> str | None:
        if number < len(self.fault_script):
            return self.fault_script[number]
        if self.faults <= 0 or not self.fault_kinds:
            return None
        rng = random.Random(f"fault:{self.seed}:{number}")
        if rng.random() >= self.faults:
            return None
        return rng.choice(self.fault_kinds)

    def next_number(self) -> int:
        with self._lock:
            number = self._counter
            self._counter += 1
            return number

    def authorised(self, headers: Any, params: Mapping[str, str]) -> bool:
        if self.token is None:
            return True
        given = headers.get("X-Access-Token") or params.get("access_token")
        auth = headers.get("Authorization")
        return given == self.token or auth == self.token

    def answer(self, route: str, params: Mapping[str, str]) -> _Reply:
        """The reply for GET ``route`` (relative to the API base) with query ``params``."""
        try:
            return self._route(route, params)
        except BadFilter as exc:
            return _error(400, str(exc))

    def _json_param(self, params: Mapping[str, str], name: str) -> Any:
        text = params.get(name)
        if text is None:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise BadFilter(f"The {name} parameter is not valid JSON: {text[:80]}") from None

    def _query_param(self, params: Mapping[str, str], name: str) -> Any:
        """``name`` as JSON (``filter={...}``) or as qs-style nested parameters
        (``filter[where][status]=RUNNING``, ``filter[where][status][inq][0]=...``), as
        LoopBack reads them; both at once is LoopBack's 400."""
        nested = [(k, v) for k, v in params.items() if k.startswith(name + "[")]
        if name in params:
            if nested:
                raise BadFilter("Value is not an object.")
            return self._json_param(params, name)
        if not nested:
            return None
        return _nest(nested, len(name))

    def _capped(self, query: Any) -> Any:
        if query is None:
            query = {}
        if self.page_cap is None or not isinstance(query, Mapping):
            return query
        limited = dict(query)
        limit = query.get("limit")
        if isinstance(limit, str) and limit.strip().isdigit():
            limit = int(limit)
        too_big = isinstance(limit, int) and not isinstance(limit, bool) and limit > self.page_cap
        if not limit or too_big:  # no limit (0 or absent) means the cap too
            limited["limit"] = self.page_cap
        return limited

    def _route(self, route: str, params: Mapping[str, str]) -> _Reply:
        parts = [unquote(p) for p in route.strip("/").split("/")]
        with self._lock:
            if parts == ["Jobs"]:
                found = self.jobs.find(self._capped(self._query_param(params, "filter")))
                self._insert()
                self._delete()
                return _Reply(200, found)
            if parts == ["Jobs", "count"]:
                return _Reply(200, {"count": self.jobs.count(self._where(params))})
            if parts == ["Jobs", "findOne"]:
                return self._find_one(self.jobs, "Job", params)
            if len(parts) == 3 and parts[0] == "Jobs" and parts[2] == "exists":
                return _Reply(200, {"exists": self.jobs.by_id(parts[1]) is not None})
            if len(parts) == 2 and parts[0] == "Jobs":
                record = self.jobs.by_id(parts[1])
                if record is None:
                    return _error(404, f'Unknown "Job" id "{parts[1]}".', "MODEL_NOT_FOUND")
                return _Reply(200, record)
            if parts == ["Backends"]:
                return _Reply(200, self.backends.find(self._query_param(params, "filter")))
            if parts == ["Backends", "count"]:
                return _Reply(200, {"count": self.backends.count(self._where(params))})
            if parts == ["Backends", "findOne"]:
                return self._find_one(self.backends, "Backend", params)
            if parts == ["Reservations"]:
                query = self._capped(self._query_param(params, "filter"))
                return _Reply(200, self.reservations.find(query))
        return _error(404, f"There is no method to handle GET {route}")

    def _where(self, params: Mapping[str, str]) -> Any:
        where = self._query_param(params, "where")
        if where is not None and not isinstance(where, Mapping):
            raise BadFilter(f"The where clause {json.dumps(where)} is not an object")
        return where

    def _find_one(self, collection: Collection, model: str, params: Mapping[str, str]) -> _Reply:
        query = self._query_param(params, "filter")
        if query is not None and not isinstance(query, Mapping):
            raise BadFilter(f"The query filter {json.dumps(query)} is not an object")
        found = collection.find({**(query or {}), "limit": 1})
        if not found:
            return _error(404, f'Unknown "{model}" id "undefined".', "MODEL_NOT_FOUND")
        return _Reply(200, found[0])

    def _insert(self) -> None:
        """Insert ``inserts`` new jobs, some at existing timestamps, some newest, some anywhere."""
        records = self.jobs.records
        rng = self._insert_rng
        for _ in range(self.inserts):
            dated = [r for r in rng.sample(records, min(50, len(records))) if r.get("creationDate")]
            choice = rng.random()
            if choice < 0.4 and dated:
                when = datetime.fromisoformat(rng.choice(dated)["creationDate"])
            elif choice < 0.7:
                when = self.anchor + timedelta(seconds=rng.randrange(1, 86400))
            else:
                when = self.anchor - timedelta(milliseconds=rng.randrange(730 * 86400 * 1000))
            self._inserted += 1
            self.jobs.add(make_job(rng, 10**6 + self._inserted, when, self.backend_names))

    def _delete(self) -> None:
        """Delete ``deletes`` jobs chosen at random."""
        records = self.jobs.records
        for _ in range(min(self.deletes, len(records))):
            self.jobs.remove(records[self._insert_rng.randrange(len(records))]["id"])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: DemoService, base: str) -> None:
        super().__init__(address, _Handler)
        self.service = service
        self.base = base
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (timed out, closed) is normal here: no traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10
    disable_nagle_algorithm = True  # headers and body go out in two writes

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read DemoService.log instead

    def do_GET(self) -> None:
        service = self.server.service
        service._enter()
        try:
            self._get(service)
        finally:
            service._leave()

    def _read_only(self) -> None:
        """The demo is read-only: other methods answer as LoopBack answers a method it
        does not have (404, a JSON error), not with http.server's HTML 501 page."""
        split = urlsplit(self.path)
        route = split.path
        base = self.server.base
        shown = route[len(base) :] if route.startswith(base + "/") else route
        self._send(_error(404, f"There is no method to handle {self.command} {shown}"))

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _read_only

    def do_HEAD(self) -> None:
        self._send(_Reply(200, []), body=False)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a bad request line, an unknown method) as JSON."""
        self.close_connection = True
        self._send(_error(code, message or self.responses.get(code, ("Error",))[0]))

    def _send(self, reply: _Reply, *, body: bool = True) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(reply.body)

    def _get(self, service: DemoService) -> None:
        number = service.next_number()
        if service.latency:
            time.sleep(service.latency)
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        route = split.path
        base = self.server.base
        if route == base or route.startswith(base + "/"):
            route = route[len(base) :] or "/"
        else:
            route = "!" + route
        fault = service.fault_for(number)
        if fault == "drop":
            self._log(route, params, 0, fault)
            self.close_connection = True
            return
        if fault == "5xx":
            status = random.Random(f"5xx:{service.seed}:{number}").choice((500, 502, 503, 504))
            reply = _error(status, "Injected server error", "INJECTED")
        elif fault == "429":
            reply = _error(429, "Too many requests", "RATE_LIMITED")
            reply.headers["Retry-After"] = str(service.retry_after)
        elif not service.authorised(self.headers, params):
            reply = _error(401, "Authorization Required", "AUTHORIZATION_REQUIRED")
        elif route.startswith("!"):
            reply = _error(404, f"There is no method to handle GET {route[1:]}")
        else:
            reply = service.answer(route, params)
        self._log(route, params, reply.status, fault)
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if fault == "truncate":
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    def _log(self, route: str, params: dict[str, str], status: int, fault: str | None) -> None:
        service = self.server.service
        with service._lock:
            service.log.append(LoggedRequest(route, params, status, fault))


class ServiceURL(str):
    """The base URL of a running demo service; ``.service`` is its :class:`DemoService`."""

    service: DemoService

    def __new__(cls, url: str, service: DemoService) -> ServiceURL:
        made = super().__new__(cls, url)
        made.service = service
        return made


@contextmanager
def serve(
    *, host: str = "127.0.0.1", port: int = 0, base_path: str = "/api", **options: Any
) -> Iterator[ServiceURL]:
    """Run a demo service on ``host:port`` (0: a free port) and yield its base URL.

    Options (all keyword): ``jobs`` (2000 dated jobs), ``seed`` (0: the data and the
    faults), ``page_cap`` (most records per answer; None), ``latency`` (seconds added
    to every request), ``faults`` (rate 0..1 of requests that fail), ``fault_kinds``
    (from ``"5xx"``, ``"429"``, ``"drop"``, ``"truncate"``), ``fault_script`` (faults
    for the first requests, in order; None for none), ``retry_after`` (seconds sent
    with a 429), ``token`` (require this ``X-Access-Token``), ``inserts`` (new jobs
    after every job listing), ``deletes`` (jobs deleted after every job listing),
    ``undated`` (extra jobs without a creationDate), ``extra_backends``, ``anchor``
    (the instant the jobs end at; default: now, so ``created > now - 7d`` finds jobs;
    pass one, e.g. ``DEFAULT_ANCHOR``, for the same data on every run), ``now`` (the
    clock the reservations are placed around, and the default anchor), ``order``
    (``"memory"``; ``"postgresql"``: ids by code point, nulls first when descending;
    ``"mysql"``: ids case-insensitively, nulls last when descending). See ``docs/rest.md``.

    The yielded URL is a ``str`` with a ``.service`` attribute: the
    :class:`DemoService`, whose ``log``, ``request_count()`` and ``jobs.records``
    tests can read (and whose ``faults``, ``page_cap``, ``inserts``, ... they can change).
    """
    service = DemoService(**options)
    server = _Server((host, port), service, base_path.rstrip("/"))
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield ServiceURL(f"http://{host}:{server.server_address[1]}{base_path}", service)
    finally:
        # Left open until the interpreter exits (a script that never closes it), the
        # daemon thread is already stopped: shutdown() would wait for it for ever.
        if thread.is_alive() and threading.main_thread().is_alive():
            server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join(timeout=5)
