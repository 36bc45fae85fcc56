"""What the client asks of a transport, and how a listing's requests go over it.

:class:`TransportLike` is the interface ``connect(url, transport=...)`` accepts:
``qwhere.transport.Transport`` (HTTP through ``requests``) is one; a test or an
embedding application may pass anything with the same ``get``. Every listing
request is logged at DEBUG on the ``qwhere.client`` logger with its parameters
(the filter): the token is never a parameter, so it never appears there.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

from ..errors import ApiError, ProtocolError

__all__ = ["TransportLike", "encode", "get_count", "get_list", "log"]

log = logging.getLogger("qwhere.client")

Record = dict[str, Any]


@runtime_checkable
class TransportLike(Protocol):
    """GET requests to one LoopBack REST API, answered as parsed JSON.

    ``get`` returns the decoded JSON body of ``GET {url}{path}?params`` and raises a
    :class:`~qwhere.errors.QwhereError` for a failure (``not_found`` is the error
    class for a 404, when the caller has one). ``url`` names the API, for messages.
    """

    url: str

    def get(
        self,
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        timeout: float | tuple[float, float] | None = None,
        not_found: type[ApiError] | None = None,
    ) -> Any: ...

    def close(self) -> None: ...


def encode(value: Any) -> str:
    """JSON as LoopBack reads it in a query string: compact, UTF-8 kept."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def get_list(transport: TransportLike, path: str, query: Mapping[str, Any]) -> list[Record]:
    """``GET {path}?filter=query``: a list of JSON objects, or a ProtocolError."""
    text = encode(query)
    log.debug("GET %s filter=%s", path, text)
    body = transport.get(path, {"filter": text})
    if not isinstance(body, list):
        raise ProtocolError(f"GET {path}: expected a JSON list, not {type(body).__name__}")
    for record in body:
        if not isinstance(record, dict):
            raise ProtocolError(f"GET {path}: expected JSON objects in the list")
    return body


def get_count(transport: TransportLike, path: str, where: Mapping[str, Any] | None) -> int:
    """``GET {path}/count?where=...``: a non-negative int, or a ProtocolError."""
    params = {}
    if where:
        params["where"] = encode(where)
    log.debug("GET %s/count where=%s", path, params.get("where", "{}"))
    body = transport.get(path + "/count", params)
    count = body.get("count") if isinstance(body, dict) else None
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise ProtocolError(f'GET {path}/count: expected {{"count": n}}, not {body!r}')
    return count
