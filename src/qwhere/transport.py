"""HTTP transport for a LoopBack REST API: one session, bounded retries and time, typed errors.

* One :class:`requests.Session` per :class:`Transport`, with a connection pool
  large enough for the listing workers.
* Retries (with exponential backoff and jitter) for 429/500/502/503/504, refused and
  dropped connections, read timeouts and bodies cut short, honouring a well-formed
  ``Retry-After`` (whole seconds or an HTTP date, capped at ``max_retry_after``; a
  malformed one counts as absent).
* Connect *and* read timeouts on every request, and a total ``deadline`` for one request
  (every attempt, redirect and pause between them): a server that trickles its headers or
  its body, or never ends it, is cut off (:class:`~qwhere.errors.DeadlineExceeded`).
* Bodies are streamed and refused past ``max_response_bytes``
  (:class:`~qwhere.errors.ResponseTooLarge`).
* Redirects are followed by hand, only within the service's origin (scheme, host and
  port) and at most ``max_redirects`` times: the token is never sent anywhere else
  (:class:`~qwhere.errors.RedirectError`).
* LoopBack's error JSON (``{"error": {"statusCode", "name", "message", "code"}}``)
  becomes :class:`~qwhere.errors.ApiError` (``AuthenticationError`` for 401/403);
  an answer that is not JSON becomes :class:`~qwhere.errors.ProtocolError`; timeouts and
  connection failures are :class:`~qwhere.errors.RequestTimeout` and
  :class:`~qwhere.errors.ConnectionFailed`.
* The access token (and any password or query in the URL) lives only in the session: it
  is never part of a repr, a log line or an exception message. Every qwhere error is
  scrubbed of every form it can take (raw, repr- and JSON-escaped, URL-encoded), and a
  body quoted in an error is cut to a few hundred characters.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import logging
import math
import random
import re
import socket
import threading
import time
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urljoin, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from .errors import (
    ApiError,
    ArgumentError,
    AuthenticationError,
    ConnectionFailed,
    DeadlineExceeded,
    IncompleteBody,
    ProtocolError,
    RedirectError,
    RequestTimeout,
    ResponseTooLarge,
    clip,
    forget_secrets,
    register_secrets,
    scrub,
)

__all__ = ["RETRY_STATUSES", "Transport", "parse_retry_after"]

log = logging.getLogger("qwhere.transport")

#: Retries of a refused connection (nothing listens there): at most this many.
REFUSED_RETRIES = 2


def _refused(exc: BaseException) -> bool:
    """Whether a requests error was caused by a refused TCP connection."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, ConnectionRefusedError):
            return True
        todo += [current.__cause__, current.__context__]
        todo += [a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            todo.append(reason)
    return False


def _one_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else "error"


#: HTTP statuses retried with backoff.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: how much of a body an error quotes
_SNIPPET = 200
#: how much of an error answer is read (its message is all that is needed)
_ERROR_BODY = 64 * 1024
_CHUNK = 16 * 1024
_NOT_JSON = object()
_CUT_SHORT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)
_TOKEN_OK = re.compile(r"[\x21-\x7e]+")
_SECONDS = re.compile(r"[0-9]{1,10}")


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """The seconds a ``Retry-After`` asks for: whole seconds or an HTTP date; None if malformed."""
    if value is None:
        return None
    text = value.strip()
    if _SECONDS.fullmatch(text):
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:  # pragma: no cover - older Pythons
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


# -- arguments ------------------------------------------------------------------------------------


def _timeouts(timeout: object, what: str = "timeout") -> tuple[float, float]:
    if isinstance(timeout, tuple) and len(timeout) == 2:
        return (_positive(timeout[0], what), _positive(timeout[1], what))
    value = _positive(timeout, what)
    return (value, value)


def _positive(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentError(f"{what} must be a number of seconds, not {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ArgumentError(f"{what} must be a positive, finite number of seconds, not {value!r}")
    return float(value)


def _non_negative(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ArgumentError(f"{what} must be a number of seconds, not {value!r}")
    if not (value >= 0 and math.isfinite(value)):
        raise ArgumentError(f"{what} must be a non-negative, finite number, not {value!r}")
    return float(value)


def _count(value: object, what: str, *, least: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"{what} must be an int, not {value!r}")
    if value < least:
        raise ArgumentError(f"{what} must be >= {least}, not {value}")
    return value


def check_token(token: object) -> str | None:
    """``token`` if it can be sent as a header (printable ASCII, no white space), else an error.

    The message never repeats the token.
    """
    if token is None:
        return None
    if not isinstance(token, str):
        raise ArgumentError(f"the token must be a string or None, not a {type(token).__name__}")
    if not token:
        raise ArgumentError("the token must not be empty (pass None for no token)")
    if not _TOKEN_OK.fullmatch(token):
        bad = next(i for i, ch in enumerate(token) if not _TOKEN_OK.fullmatch(ch))
        raise ArgumentError(
            f"the token holds white space, a control or a non-ASCII character (at position "
            f"{bad} of {len(token)}: a stray newline?); it is not shown"
        )
    return token


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return (parts.scheme.lower(), (parts.hostname or "").lower(), port)


def secret_forms(secret: str) -> tuple[str, ...]:
    """Every form ``secret`` can take in a message: raw, escaped, encoded."""
    forms = {
        secret,
        repr(secret)[1:-1],
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
    }
    return tuple(f for f in forms if f)


class _ScrubLogs(logging.Filter):
    """Scrubs the secrets of live transports from qwhere's and urllib3's log records
    (urllib3 logs URLs, and a URL may carry a query secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = scrub(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(scrub(a) if isinstance(a, str) else a for a in record.args)
        return True


_LOG_FILTER = _ScrubLogs()
for _name in (
    "qwhere.transport",
    "qwhere.service",
    "urllib3.connectionpool",
    "urllib3.util.retry",
    "urllib3.poolmanager",
):
    logging.getLogger(_name).addFilter(_LOG_FILTER)


# -- the watchdog: a request past its deadline has its connection shut --------------------------


class _Attempt:
    """One request in flight: the connection it uses, and whether its deadline has passed."""

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self.done = False
        self.lock = threading.Lock()
        self.conn: Any = None
        self.when = time.monotonic() + max(seconds, 0.0)

    def attach(self, conn: Any) -> None:
        with self.lock:
            self.conn = conn
            if self.expired:
                self._shut()
        if self.expired:
            raise _Expired()

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            self._shut()

    def _shut(self) -> None:
        sock = getattr(self.conn, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Attempt:
        _WATCHDOG.watch(self, self.when)
        return self

    def __exit__(self, *exc: object) -> None:
        self.done = True


class _Watchdog:
    """One thread for every request's deadline: when one passes, its connection is shut
    (again every 50 ms while the request goes on: its connection may still be opening)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.heap: list[tuple[float, int, _Attempt]] = []
        self.order = itertools.count()
        self.thread: threading.Thread | None = None

    def watch(self, attempt: _Attempt, when: float) -> None:
        with self.cond:
            if len(self.heap) > 1024:  # finished attempts wait for their turn: sweep them
                self.heap = [entry for entry in self.heap if not entry[2].done]
                heapq.heapify(self.heap)
            heapq.heappush(self.heap, (when, next(self.order), attempt))
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._run, name="qwhere-deadlines", daemon=True
                )
                self.thread.start()
            elif self.heap[0][2] is attempt:
                self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while self.heap and self.heap[0][2].done:
                    heapq.heappop(self.heap)
                if not self.heap:
                    self.cond.wait()
                    continue
                when, _, attempt = self.heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self.cond.wait(delay)
                    continue
                heapq.heappop(self.heap)
            attempt.expire()
            if not attempt.done:
                self.watch(attempt, time.monotonic() + 0.05)


_WATCHDOG = _Watchdog()


class _Expired(Exception):
    """Raised inside the connection pool when the request's deadline has passed."""


_CURRENT: ContextVar[_Attempt | None] = ContextVar("qwhere_transport_attempt", default=None)


class _WatchedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        attempt = _CURRENT.get()
        if attempt is not None:
            attempt.attach(conn)
        return conn


class _WatchedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        attempt = _CURRENT.get()
        if attempt is not None:
            attempt.attach(conn)
        return conn


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _WatchedHTTPPool,
            "https": _WatchedHTTPSPool,
        }


# -- the transport --------------------------------------------------------------------------------


class _Failure(Exception):
    """One attempt failed; ``retry`` says whether another may succeed."""

    def __init__(self, error: ApiError | ProtocolError, *, retry: bool, wait: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry = retry
        self.wait = wait


class Transport:
    """GET requests to one LoopBack REST API, answered as parsed JSON.

    ``timeout`` is ``(connect, read)`` seconds or one number for both; ``retries``
    bounds the retries of one request; ``deadline`` bounds one request in all (seconds);
    ``max_response_bytes`` bounds a body; ``max_redirects`` bounds the redirects (within
    the service's origin) one request follows.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retries: int = 5,
        backoff: float = 0.25,
        backoff_max: float = 10.0,
        max_retry_after: float = 60.0,
        pool_size: int = 16,
        verify: bool | str = True,
        deadline: float = 120.0,
        max_response_bytes: int = 32 * 1024 * 1024,
        max_redirects: int = 5,
    ) -> None:
        if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
            shown = _redact(url) if isinstance(url, str) else repr(url)
            raise ArgumentError(f"the service URL must start with http:// or https://, not {shown}")
        self._token = check_token(token)
        self.timeout = _timeouts(timeout)
        self.retries = _count(retries, "retries")
        self.backoff = _non_negative(backoff, "backoff")
        self.backoff_max = _positive(backoff_max, "backoff_max")
        self.max_retry_after = _positive(max_retry_after, "max_retry_after")
        self.deadline = _positive(deadline, "deadline")
        self.max_response_bytes = _count(max_response_bytes, "max_response_bytes", least=1)
        self.max_redirects = _count(max_redirects, "max_redirects")
        pool = _count(pool_size, "pool_size") or 1
        parts = urlsplit(url.rstrip("/"))
        self._base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
        self._base_query = parse_qsl(parts.query, keep_blank_values=True)
        #: the service's URL as shown (user name, password and query values hidden)
        self.url = _redact(url.rstrip("/"))
        secrets = [self._token] if self._token else []
        secrets += [s for s in (parts.password, parts.username) if s]
        secrets += [value for _, value in self._base_query if value]
        register_secrets(self, [form for s in secrets for form in secret_forms(s)])
        self._session = requests.Session()
        adapter = _Adapter(
            max_retries=Retry(total=0, read=False, redirect=False, raise_on_status=False),
            pool_connections=2,
            pool_maxsize=pool,
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.verify = verify
        self._session.headers["Accept"] = "application/json"
        self._session.headers["User-Agent"] = "qwhere"
        if self._token is not None:
            self._session.headers["X-Access-Token"] = self._token
        #: how many logical requests were sent (retries and redirects not included)
        self.requests_sent = 0

    def __repr__(self) -> str:
        token = "<hidden>" if self._token is not None else "None"
        return f"Transport(url={self.url!r}, token={token})"

    def close(self) -> None:
        self._session.close()
        forget_secrets(self)

    # -- requests ---------------------------------------------------------------------------

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        not_found: type[ApiError] | None = None,
    ) -> Any:
        """GET ``{url}{path}`` and return the parsed JSON body; typed errors otherwise."""
        timeouts = self.timeout if timeout is None else _timeouts(timeout)
        query = [*self._base_query, *(params or {}).items()]
        for key, value in query:
            for text, what in ((key, "parameter name"), (value, "parameter")):
                if not isinstance(text, str) or _unencodable(text):
                    raise ArgumentError(f"GET {path}: a {what} is not UTF-8 text")
        if _unencodable(path):
            raise ArgumentError(f"GET {path!r}: the path is not UTF-8 text")
        self.requests_sent += 1
        started = time.monotonic()
        status, content = self._send(self._base + path, path, query, timeouts, started)
        elapsed = (time.monotonic() - started) * 1000
        log.debug("GET %s -> %s (%.0f ms)", path, status, elapsed)
        if status >= 400:
            raise self._error(path, status, content, not_found)
        body: Any = _NOT_JSON
        try:
            body = json.loads(content)
        except RecursionError:
            raise ProtocolError(f"GET {path}: the answer nests too deep to read") from None
        except (ValueError, UnicodeDecodeError):
            pass
        if body is _NOT_JSON:
            raise ProtocolError(
                f"GET {path}: the answer is not JSON (HTTP {status}, {len(content)} bytes): "
                f"{_snippet(content)}"
            )
        return body

    def _send(
        self,
        url: str,
        path: str,
        query: list[tuple[str, str]],
        timeouts: tuple[float, float],
        started: float,
    ) -> tuple[int, bytes]:
        """One GET with retries, within the deadline: (status, body). Failures become typed
        errors raised *outside* any ``except``, so no exception chain holds the request."""
        end = started + self.deadline
        attempt = 0
        while True:
            try:
                return self._attempt(url, path, query, timeouts, end)
            except _Failure as failed:
                failure = failed
            refused = getattr(failure.error, "refused", False)
            # a refused connection is rarely a passing state: fewer retries than for a 503
            budget = min(self.retries, REFUSED_RETRIES) if refused else self.retries
            if not failure.retry or attempt >= budget:
                raise failure.error
            attempt += 1
            delay = self._delay(attempt, failure.wait)
            log.info(
                "%s; retry %d of %d in %.1f s",
                _one_line(str(failure.error)),
                attempt,
                budget,
                delay,
            )
            if time.monotonic() + delay >= end:
                raise DeadlineExceeded(
                    f"GET {path}: the deadline of {self.deadline:g} s passed while retrying "
                    f"({failure.error})"
                )
            time.sleep(delay)

    def _delay(self, attempt: int, asked: float | None) -> float:
        if asked is not None:
            return min(asked, self.max_retry_after)
        delay = min(self.backoff_max, self.backoff * 2.0 ** (attempt - 1))
        return delay + random.uniform(0, self.backoff / 4)

    def _attempt(
        self,
        url: str,
        path: str,
        query: list[tuple[str, str]],
        timeouts: tuple[float, float],
        end: float,
    ) -> tuple[int, bytes]:
        """One try, redirects within the origin followed: (status, body) or a _Failure."""
        home = _origin(self._base)
        params: list[tuple[str, str]] | None = query
        for _hop in range(self.max_redirects + 1):
            status, headers, content = self._exchange(url, path, params, timeouts, end)
            if status in _REDIRECTS and headers.get("Location"):
                target = urljoin(url, headers["Location"])
                if _origin(target) != home:
                    raise _Failure(
                        RedirectError(
                            f"GET {path}: the service redirects to another origin "
                            f"({_redact(target)}); refused, so the token is never sent there",
                            status=status,
                            location=_redact(target),
                        ),
                        retry=False,
                    )
                url, params = target, None
                continue
            if status in RETRY_STATUSES:
                wait = parse_retry_after(headers.get("Retry-After"))
                raise _Failure(self._error(path, status, content, None), retry=True, wait=wait)
            return status, content
        raise _Failure(
            RedirectError(
                f"GET {path}: more than {self.max_redirects} redirects (a redirect loop?)",
                status=status,
                location=_redact(url),
            ),
            retry=False,
        )

    def _exchange(
        self,
        url: str,
        path: str,
        params: list[tuple[str, str]] | None,
        timeouts: tuple[float, float],
        end: float,
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One request and its whole body, cut off at the deadline and the size limit."""
        left = end - time.monotonic()
        if left <= 0:
            raise _Failure(self._late(path), retry=False)
        bounded = (min(timeouts[0], left), min(timeouts[1], left))
        error: ApiError | ProtocolError | None = None
        retry = True
        with _Attempt(left) as watch:
            token = _CURRENT.set(watch)
            try:
                response = self._session.get(
                    url, params=params, timeout=bounded, stream=True, allow_redirects=False
                )
                try:
                    failed = response.status_code >= 400
                    limit = min(_ERROR_BODY, self.max_response_bytes) if failed else None
                    content = self._read(response, path, limit)
                finally:
                    response.close()
                if watch.expired:  # cut off: what arrived may look whole, but is not
                    raise _Expired()
                return response.status_code, response.headers, content
            except _Failure:
                raise
            except _Expired:
                error, retry = self._late(path), False
            except _CUT_SHORT as exc:
                error = (
                    self._late(path)
                    if watch.expired
                    else IncompleteBody(
                        f"GET {path}: the answer was cut short: {exc}", code="INCOMPLETE_BODY"
                    )
                )
                retry = not watch.expired
            except requests.exceptions.SSLError as exc:
                error = ConnectionFailed(
                    f"GET {path}: TLS failed: {clip(str(exc), 300)}", code="CONNECTION"
                )
                retry = False
            except requests.exceptions.RequestException as exc:
                if watch.expired:
                    error, retry = self._late(path), False
                elif isinstance(exc, requests.exceptions.Timeout):
                    error = RequestTimeout(
                        f"GET {path}: timed out: {clip(str(exc), 300)}", code="TIMEOUT"
                    )
                elif _refused(exc):
                    error = ConnectionFailed(
                        f"connection refused at {self.url} (GET {path}): is the service "
                        "running, and is this its address and port?",
                        code="CONNECTION",
                    )
                    error.refused = True
                else:
                    error = ConnectionFailed(
                        f"GET {path}: could not reach the service: {clip(str(exc), 300)}",
                        code="CONNECTION",
                    )
            finally:
                _CURRENT.reset(token)
        assert error is not None
        raise _Failure(error, retry=retry)

    def _read(self, response: requests.Response, path: str, cut: int | None) -> bytes:
        """The body, streamed: refused past max_response_bytes, or cut at ``cut`` bytes."""
        truncate = cut is not None
        limit = cut if cut is not None else self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if not truncate and declared.isdigit() and int(declared) > limit:
            raise _Failure(self._too_large(path, limit, int(declared)), retry=False)
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(chunk_size=_CHUNK):
            size += len(chunk)
            if size > limit:
                if truncate:
                    chunks.append(chunk[: len(chunk) - (size - limit)])
                    break
                raise _Failure(self._too_large(path, limit, None), retry=False)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, path: str, limit: int, declared: int | None) -> ResponseTooLarge:
        said = f" (it declares {declared:,} bytes)" if declared is not None else ""
        return ResponseTooLarge(
            f"GET {path}: the answer is larger than max_response_bytes={limit:,}{said}",
            limit=limit,
        )

    def _late(self, path: str) -> DeadlineExceeded:
        return DeadlineExceeded(
            f"GET {path}: no complete answer within the deadline of {self.deadline:g} s",
            code="DEADLINE",
        )

    def _error(
        self, path: str, status: int, content: bytes, not_found: type[ApiError] | None
    ) -> ApiError:
        message, code = f"{_REASONS.get(status, 'error')}", None
        try:
            body = json.loads(content)
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            error = body["error"]
            if isinstance(error.get("message"), str):
                message = clip(error["message"], 500)
            if isinstance(error.get("code"), str):
                code = clip(error["code"], 100)
        elif content:
            message = f"{message}: {_snippet(content)}"
        message = f"GET {path}: {message}"
        if status in (401, 403):
            return AuthenticationError(message, status=status, code=code)
        if status == 404 and not_found is not None:
            return not_found(message, status=status, code=code)
        return ApiError(message, status=status, code=code)


_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _snippet(content: bytes) -> str:
    """The start of a body, for a message: at most _SNIPPET characters, quoted."""
    text = content[: _SNIPPET * 4].decode("utf-8", "replace")[:_SNIPPET]
    more = "…" if len(content) > len(text.encode("utf-8", "replace")) else ""
    return repr(text) + more


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _redact(url: str) -> str:
    """``url`` with its user name, password and query values hidden."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            netloc = "***@" + netloc.rsplit("@", 1)[1]
        query = "&".join(
            f"{quote(key, safe='')}=***"
            for key, _ in parse_qsl(parts.query, keep_blank_values=True)
        )
        return clip(urlunsplit((parts.scheme, netloc, parts.path, query, "")), 300)
    except ValueError:
        return "<a malformed URL>"
