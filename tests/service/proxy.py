"""A fault-injecting HTTP proxy in front of a real LoopBack app, for the service tests.

``FaultProxy(upstream)`` listens on 127.0.0.1 (a free port, one thread per
connection) and forwards every GET to ``upstream`` (``http://127.0.0.1:PORT``),
logging each request like ``qwhere.testing``'s demo service does
(``LoggedRequest``: route, parameters, status, fault). Like the demo service it
injects, per request number and seed, a 5xx answer, a 429 with ``Retry-After``,
a connection dropped before any answer, or a body cut in half (``faults`` is the
rate, ``fault_kinds`` the kinds, ``fault_script`` the faults of the first
requests). ``after_listing`` is called after every answered ``GET /Jobs`` (the
tests insert and delete jobs there, while a walk goes on).

Bounded: upstream requests time out after ``timeout`` seconds, the proxy answers
at most ``max_requests`` requests (then 503 to everything), its threads are
daemons and ``close()`` stops it and closes every connection.
"""

from __future__ import annotations

import http.client
import random
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from qwhere.testing import FAULT_KINDS, LoggedRequest

__all__ = ["FaultProxy"]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class FaultProxy:
    """See the module docstring. ``url`` is the proxied API root (``.../api``)."""

    def __init__(
        self,
        upstream: str,
        *,
        base_path: str = "/api",
        seed: int = 0,
        timeout: float = 60.0,
        max_requests: int = 500_000,
    ) -> None:
        split = urlsplit(upstream)
        assert split.hostname in ("127.0.0.1", "localhost"), "the proxy only targets loopback"
        self.upstream = (split.hostname, split.port or 80)
        self.base_path = base_path.rstrip("/")
        self.seed = seed
        self.timeout = timeout
        self.max_requests = max_requests
        self.faults = 0.0
        self.fault_kinds: tuple[str, ...] = FAULT_KINDS
        self.fault_script: list[str | None] = []
        self.retry_after = 0
        self.after_listing: Callable[[Mapping[str, str]], None] | None = None
        self.log: list[LoggedRequest] = []
        self.lock = threading.RLock()
        self._counter = 0
        self._local = threading.local()
        self._server = _Server(("127.0.0.1", 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.base_path}"

    # -- what the tests read (as on qwhere.testing.DemoService) -------------------------------

    def request_count(self, route: str | None = None) -> int:
        with self.lock:
            return sum(1 for r in self.log if route is None or r.route == route)

    def reset_log(self) -> None:
        with self.lock:
            self.log.clear()

    def set_faults(
        self,
        rate: float = 0.0,
        kinds: Sequence[str] = FAULT_KINDS,
        script: Sequence[str | None] = (),
        retry_after: int = 0,
    ) -> None:
        """Faults from now on: the rate, the kinds, a script for the next requests."""
        with self.lock:
            self.faults = rate
            self.fault_kinds = tuple(kinds)
            self.fault_script = list(script)
            self.retry_after = retry_after
            self._counter = 0

    def fault_for(self, number: int) -> str | None:
        if number < len(self.fault_script):
            return self.fault_script[number]
        if self.faults <= 0 or not self.fault_kinds:
            return None
        rng = random.Random(f"proxy-fault:{self.seed}:{number}")
        if rng.random() >= self.faults:
            return None
        return rng.choice(self.fault_kinds)

    def next_number(self) -> int:
        with self.lock:
            number = self._counter
            self._counter += 1
            return number

    def close(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- forwarding ---------------------------------------------------------------------------

    def forward(
        self, path: str, headers: Mapping[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """GET ``path`` upstream on this thread's keep-alive connection."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        for attempt in range(2):
            if conn is None:
                conn = http.client.HTTPConnection(*self.upstream, timeout=self.timeout)
                self._local.conn = conn
            try:
                conn.request("GET", path, headers=dict(headers))
                response = conn.getresponse()
                body = response.read()
                return response.status, response.getheaders(), body
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = self._local.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: FaultProxy) -> None:
        super().__init__(address, _Handler)
        self.proxy = proxy
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away is normal here

    def close_connections(self) -> None:
        with self.connections_lock:
            for conn in list(self.connections):
                with suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30
    disable_nagle_algorithm = True

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
        pass

    def do_GET(self) -> None:
        proxy = self.server.proxy
        number = proxy.next_number()
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        route = split.path
        if route.startswith(proxy.base_path):
            route = route[len(proxy.base_path) :] or "/"
        fault = proxy.fault_for(number)
        if number >= proxy.max_requests:
            self._reply(
                route, params, 503, [], b'{"error":{"message":"proxy request budget"}}', None
            )
            return
        if fault == "drop":
            self._log(route, params, 0, fault)
            self.close_connection = True
            return
        if fault == "5xx":
            status = random.Random(f"5xx:{proxy.seed}:{number}").choice((500, 502, 503, 504))
            body = b'{"error":{"statusCode":%d,"message":"Injected server error"}}' % status
            self._reply(route, params, status, [], body, fault)
            return
        if fault == "429":
            body = b'{"error":{"statusCode":429,"message":"Too many requests"}}'
            self._reply(route, params, 429, [("Retry-After", str(proxy.retry_after))], body, fault)
            return
        forwarded = {
            k: v for k, v in self.headers.items() if k.lower() in ("accept", "x-access-token")
        }
        try:
            status, headers, body = proxy.forward(self.path, forwarded)
        except (http.client.HTTPException, OSError) as exc:
            message = f'{{"error":{{"statusCode":502,"message":"upstream: {type(exc).__name__}"}}}}'
            self._reply(route, params, 502, [], message.encode(), None)
            return
        keep = [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]
        if route == "/Jobs" and status == 200 and proxy.after_listing is not None:
            proxy.after_listing(params)
        self._reply(route, params, status, keep, body, fault)

    def _reply(
        self,
        route: str,
        params: dict[str, str],
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        fault: str | None,
    ) -> None:
        self._log(route, params, status, fault)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if not any(k.lower() == "content-type" for k, _ in headers):
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if fault == "truncate":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)

    def _log(self, route: str, params: dict[str, str], status: int, fault: str | None) -> None:
        proxy = self.server.proxy
        with proxy.lock:
            proxy.log.append(LoggedRequest(route, params, status, fault))
