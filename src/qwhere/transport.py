"""HTTP transport for a LoopBack REST API: one session, bounded retries, typed errors.

* One :class:`requests.Session` per :class:`Transport`, with a connection pool
  large enough for the listing workers.
* urllib3 ``Retry`` for 429/500/502/503/504, refused and dropped connections and
  read timeouts, with exponential backoff (and jitter), honouring ``Retry-After``
  (capped at ``max_retry_after`` seconds). Bodies cut short mid-read are retried
  by the transport itself, with the same budget and backoff.
* Connect *and* read timeouts on every request.
* LoopBack's error JSON (``{"error": {"statusCode", "name", "message", "code"}}``)
  becomes :class:`~qwhere.errors.ApiError` (``AuthenticationError`` for 401/403);
  an answer that is not JSON becomes :class:`~qwhere.errors.ProtocolError`.
* The access token lives only in the session's headers: it is never part of a
  repr, a log line or an exception message (messages are scrubbed as well).
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Mapping
from contextlib import suppress
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from .errors import ApiError, AuthenticationError, FilterTypeError, FilterValueError, ProtocolError

__all__ = ["RETRY_STATUSES", "Transport"]

log = logging.getLogger("qwhere.transport")

#: HTTP statuses retried with backoff.
RETRY_STATUSES: frozenset[int] = frozenset({429, 500, 502, 503, 504})
_SNIPPET = 200
_NOT_JSON = object()
_CUT_SHORT = (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)


class _Retry(Retry):
    """urllib3's Retry with a ceiling on how long a ``Retry-After`` may make us wait."""

    max_retry_after: float = 60.0

    def new(self, **kw: Any) -> _Retry:
        fresh: _Retry = super().new(**kw)
        fresh.max_retry_after = self.max_retry_after
        return fresh

    def get_retry_after(self, response: Any) -> float | None:
        value = super().get_retry_after(response)
        return None if value is None else min(value, self.max_retry_after)


def _read_timeout(exc: BaseException) -> bool:
    """A connection error that is really read timeouts past the retry budget."""
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, ReadTimeoutError)


def _timeouts(timeout: object, what: str = "timeout") -> tuple[float, float]:
    if isinstance(timeout, tuple) and len(timeout) == 2:
        pair = (_positive(timeout[0], what), _positive(timeout[1], what))
        return pair
    value = _positive(timeout, what)
    return (value, value)


def _positive(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FilterTypeError(f"{what} must be a number of seconds, not {value!r}")
    if not value > 0 or value != value or value == float("inf"):
        raise FilterValueError(f"{what} must be a positive number of seconds, not {value!r}")
    return float(value)


def _count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise FilterTypeError(f"{what} must be an int, not {value!r}")
    if value < 0:
        raise FilterValueError(f"{what} must be >= 0, not {value}")
    return value


class Transport:
    """GET requests to one LoopBack REST API, answered as parsed JSON.

    ``timeout`` is ``(connect, read)`` seconds or one number for both; ``retries``
    bounds the retries of one request for each kind of failure.
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
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise FilterValueError(
                f"the service URL must start with http:// or https://, not {url!r}"
            )
        if token is not None and (not isinstance(token, str) or not token):
            raise FilterTypeError("the token must be a non-empty string or None")
        self.url = url.rstrip("/")
        self.timeout = _timeouts(timeout)
        self.retries = _count(retries, "retries")
        if isinstance(backoff, bool) or not isinstance(backoff, int | float) or backoff < 0:
            raise FilterValueError(f"backoff must be a non-negative number, not {backoff!r}")
        self.backoff = float(backoff)
        self.backoff_max = _positive(backoff_max, "backoff_max")
        pool = _count(pool_size, "pool_size") or 1
        retry = _Retry(
            total=self.retries,
            connect=self.retries,
            read=self.retries,
            status=self.retries,
            other=0,
            redirect=0,
            allowed_methods=frozenset({"GET"}),
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff / 4,
            respect_retry_after_header=True,
            raise_on_status=False,
            raise_on_redirect=False,
        )
        retry.max_retry_after = _positive(max_retry_after, "max_retry_after")
        self._session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=2, pool_maxsize=pool)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.verify = verify
        self._session.headers["Accept"] = "application/json"
        self._session.headers["User-Agent"] = "qwhere"
        self._secret = token
        if token is not None:
            self._session.headers["X-Access-Token"] = token
        #: how many logical requests were sent (retries not included)
        self.requests_sent = 0

    def __repr__(self) -> str:
        token = "<hidden>" if self._secret is not None else "None"
        return f"Transport(url={self.url!r}, token={token})"

    def close(self) -> None:
        self._session.close()

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
        url = self.url + path
        timeouts = self.timeout if timeout is None else _timeouts(timeout)
        self.requests_sent += 1
        started = time.monotonic()
        response = self._send(url, path, params, timeouts)
        elapsed = (time.monotonic() - started) * 1000
        log.debug("GET %s -> %s (%.0f ms)", path, response.status_code, elapsed)
        if response.status_code >= 400:
            raise self._error(path, response, not_found)
        body: Any = _NOT_JSON
        with suppress(ValueError, UnicodeDecodeError):
            body = json.loads(response.content)
        if body is _NOT_JSON:
            raise ProtocolError(
                self._scrub(
                    f"GET {path}: the answer is not JSON (HTTP {response.status_code}, "
                    f"{len(response.content)} bytes): {response.text[:_SNIPPET]!r}"
                )
            )
        return body

    def _send(
        self,
        url: str,
        path: str,
        params: Mapping[str, str] | None,
        timeouts: tuple[float, float],
    ) -> requests.Response:
        """One GET with retries; failures become ApiError raised *outside* any ``except``,
        so no exception chain holds the request (and its token)."""
        attempt = 0
        while True:
            failure: ApiError | None = None
            try:
                return self._session.get(url, params=params, timeout=timeouts)
            except _CUT_SHORT as exc:
                # the body was cut short: urllib3's Retry cannot see this, so retry here
                if attempt >= self.retries:
                    failure = ApiError(
                        self._scrub(
                            f"GET {path}: the answer was cut short {attempt + 1} times: {exc}"
                        ),
                        code="INCOMPLETE_BODY",
                    )
            except requests.exceptions.RequestException as exc:
                timed_out = isinstance(exc, requests.exceptions.Timeout) or _read_timeout(exc)
                failure = ApiError(
                    self._scrub(
                        f"GET {path}: timed out: {exc}"
                        if timed_out
                        else f"GET {path}: could not reach the service: {exc}"
                    ),
                    code="TIMEOUT" if timed_out else "CONNECTION",
                )
            if failure is not None:
                raise failure
            attempt += 1
            self._sleep(attempt)

    def _sleep(self, attempt: int) -> None:
        delay = min(self.backoff_max, self.backoff * (2 ** (attempt - 1)))
        time.sleep(delay + random.uniform(0, self.backoff / 4))

    def _error(
        self, path: str, response: requests.Response, not_found: type[ApiError] | None
    ) -> ApiError:
        status = response.status_code
        message, code = f"{response.reason or 'error'}", None
        try:
            body = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, Mapping) and isinstance(body.get("error"), Mapping):
            error = body["error"]
            if isinstance(error.get("message"), str):
                message = error["message"]
            if isinstance(error.get("code"), str):
                code = error["code"]
        elif response.content:
            message = f"{message}: {response.text[:_SNIPPET]!r}"
        message = self._scrub(f"GET {path}: {message}")
        if status in (401, 403):
            return AuthenticationError(message, status=status, code=code)
        if status == 404 and not_found is not None:
            return not_found(message, status=status, code=code)
        return ApiError(message, status=status, code=code)

    def _scrub(self, text: str) -> str:
        if self._secret:
            text = text.replace(self._secret, "<hidden>")
        return text
