"""A local service that speaks the REST contract, for demos, for qwhere's tests and for yours.

>>> import qwhere
>>> from qwhere.testing import serve
>>> with serve(jobs=50) as url:
...     provider = qwhere.connect(url)
...     len(provider.jobs(limit=5))
5

See :func:`serve` for the options (page cap, latency, faults, inserts, ...) and
``docs/rest.md`` for the contract. ``python -m qwhere.testing`` runs one in the
foreground.
"""

from __future__ import annotations

from .data import DEFAULT_ANCHOR
from .engine import BadFilter, Collection
from .server import FAULT_KINDS, DemoService, LoggedRequest, ServiceURL, serve

__all__ = [
    "DEFAULT_ANCHOR",
    "FAULT_KINDS",
    "BadFilter",
    "Collection",
    "DemoService",
    "LoggedRequest",
    "ServiceURL",
    "serve",
]
