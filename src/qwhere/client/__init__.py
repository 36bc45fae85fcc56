"""The service client, one module per role.

* ``arguments`` - the seed's arguments checked and lowered to a filter and a plan;
* ``pagination`` - keyset segments: the requests of a listing and what each page
  means, without I/O;
* ``ranges`` - concurrent listings: date ranges fetched by a thread pool;
* ``listing`` - a listing driven over a transport (``JobIterator``, ``ListingStats``);
* ``wire`` - the transport interface (``TransportLike``) and how requests are sent
  and logged;
* ``service`` - ``connect``, ``Provider`` and ``BackendService``.

The HTTP transport is :mod:`qwhere.transport`, the records are :mod:`qwhere.models`.
``qwhere.service`` re-exports this package's public names, as before.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__all__ = [
    "BackendService",
    "JobIterator",
    "ListingStats",
    "Provider",
    "TransportLike",
    "connect",
]

_EXPORTS = {
    "BackendService": "service",
    "Provider": "service",
    "connect": "service",
    "JobIterator": "listing",
    "ListingStats": "listing",
    "TransportLike": "wire",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qwhere.client' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:  # pragma: no cover
    from .listing import JobIterator, ListingStats
    from .service import BackendService, Provider, connect
    from .wire import TransportLike
