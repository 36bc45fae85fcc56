"""Fixtures for the service tests: demo services and real LoopBack apps over HTTP, and
an independent oracle (``oracle.py``: ``expected_ids`` is written by hand from the seed's
documented meaning of each argument; it does not use qwhere's planner or predicate).

``sites`` starts, on first use, the sites of ``sites.py``: qwhere's demo service and the
LoopBack 3 app on memory, PostgreSQL and MariaDB, each behind a fault-injecting proxy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import qwhere
from qwhere.testing import DEFAULT_ANCHOR, ServiceURL, serve

from .oracle import *  # noqa: F403 - the oracle's names, as the tests import them from here
from .oracle import __all__ as _oracle_names

__all__ = list(_oracle_names)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def demo() -> Iterator[ServiceURL]:
    """The default demo service (2000 jobs, no cap, no faults); tests must not change it."""
    with serve(anchor=DEFAULT_ANCHOR) as url:  # the same jobs on every run
        yield url


@pytest.fixture(scope="session")
def demo_records(demo: ServiceURL) -> list[dict[str, Any]]:
    return demo.service.snapshot()


@pytest.fixture(scope="session")
def provider(demo: ServiceURL) -> Iterator[qwhere.Provider]:
    with qwhere.connect(demo) as p:
        yield p


@pytest.fixture(scope="module")
def capped() -> Iterator[ServiceURL]:
    """A demo service whose cap, faults and inserts a test may change (and must restore)."""
    with serve(jobs=400, undated=12, page_cap=7, anchor=DEFAULT_ANCHOR) as url:
        yield url


@pytest.fixture(scope="session")
def sites(lb3_apps: Any) -> Iterator[Any]:
    """``sites(name)``: the session's Site for "demo", "memory", "postgresql" or "mysql"."""
    from .sites import Sites

    found = Sites(lb3_apps)
    try:
        yield found
    finally:
        found.close()
