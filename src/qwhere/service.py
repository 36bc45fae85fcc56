"""Compatibility: the service client lives in :mod:`qwhere.client` now.

``from qwhere.service import connect, Provider, ...`` keeps working.
"""

from __future__ import annotations

from .client.arguments import JobFilters, job_filter
from .client.listing import JobIterator, ListingStats
from .client.service import BackendService, Provider, connect
from .client.wire import TransportLike

__all__ = [
    "BackendService",
    "JobFilters",
    "JobIterator",
    "ListingStats",
    "Provider",
    "TransportLike",
    "connect",
    "job_filter",
]
