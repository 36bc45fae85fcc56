"""Where the service tests run: qwhere's own demo service, and a real LoopBack 3 app on
the memory connector, PostgreSQL and MariaDB (tests/lb3), each behind a fault proxy.

A :class:`Site` loads a data set, says how its server orders ids (written out here,
independently of qwhere's connector profiles), and offers the same ``service`` the
tests read on ``qwhere.testing``: ``log``, ``reset_log()``, ``request_count()``,
``page_cap``, ``faults``/``fault_kinds``/``fault_script``/``retry_after``,
``inserts``/``deletes`` (after every job listing) and ``snapshot()``.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import qwhere
from qwhere.testing import DEFAULT_ANCHOR, LoggedRequest, serve
from qwhere.testing.data import backend_records, iso, job_records, make_job, reservation_records

from .oracle import ID_KEYS, Record, expected_ids, listing_matches
from .proxy import FaultProxy

__all__ = ["SITES", "RealService", "Site", "Sites", "demo_jobs", "iso", "settings"]

#: every site: qwhere.testing, then the LoopBack 3 app on each connector
SITES: tuple[str, ...] = ("demo", "memory", "postgresql", "mysql")

_BACKENDS = [b["name"] for b in backend_records()]


def demo_jobs(count: int, *, undated: int = 0, seed: int = 0) -> list[dict[str, Any]]:
    """The demo service's data set (the same records on every site)."""
    return job_records(count, seed=seed, undated=undated)


class _Apps(Protocol):
    def __call__(self, connector: Any, *, page_cap: int | None = None) -> Any: ...


class RealService:
    """A LoopBack 3 app behind a :class:`FaultProxy`, read like a DemoService."""

    def __init__(self, app: Any, proxy: FaultProxy, *, resolution_ms: int) -> None:
        self.app = app
        self.proxy = proxy
        self.resolution_ms = resolution_ms
        self.inserts = 0
        self.deletes = 0
        self.records: list[dict[str, Any]] = []
        self.backend_records = backend_records()
        self.reservation_records: list[dict[str, Any]] = []
        self._page_cap: int | None = None
        self._rng = random.Random("real-inserts")
        self._inserted = 0
        self._lock = threading.Lock()
        proxy.after_listing = self._after_listing

    # -- as on DemoService ----------------------------------------------------------------------

    @property
    def log(self) -> list[LoggedRequest]:
        return self.proxy.log

    def reset_log(self) -> None:
        self.proxy.reset_log()

    def request_count(self, route: str | None = None) -> int:
        return self.proxy.request_count(route)

    def snapshot(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.records]

    def set_faults(self, *args: Any, **kwargs: Any) -> None:
        self.proxy.set_faults(*args, **kwargs)

    @property
    def page_cap(self) -> int | None:
        return self._page_cap

    @page_cap.setter
    def page_cap(self, cap: int | None) -> None:
        if cap != self._page_cap:
            self.app.set_page_cap(cap)
            self._page_cap = cap

    def _proxy_attr(name: str) -> Any:  # type: ignore[misc]
        return property(
            lambda self: getattr(self.proxy, name),
            lambda self, value: setattr(self.proxy, name, value),
        )

    faults = _proxy_attr("faults")
    fault_kinds = _proxy_attr("fault_kinds")
    fault_script = _proxy_attr("fault_script")
    retry_after = _proxy_attr("retry_after")
    del _proxy_attr

    # -- data -----------------------------------------------------------------------------------

    def stored(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as the server keeps it (MariaDB drops the milliseconds)."""
        out = dict(record)
        when = out.get("creationDate")
        if when is not None and self.resolution_ms == 1000:
            out["creationDate"] = when[:19] + ".000Z"
        return out

    def load(self, jobs: Sequence[Mapping[str, Any]], now: datetime) -> list[dict[str, Any]]:
        self.records = [self.stored(r) for r in jobs]
        self.app.load("Job", self.records)
        self.app.load("Backend", self.backend_records)
        self.reservation_records = reservation_records(now)
        self.app.load("Reservation", self.reservation_records)
        self._rng = random.Random("real-inserts")
        return self.snapshot()

    def add(self, record: Mapping[str, Any]) -> None:
        """One more job, through the REST API (as a client would create it)."""
        stored = self.stored(record)
        self.app.request("POST", "/api/Jobs", body=stored)
        self.records.append(stored)

    def remove(self, ident: str) -> None:
        from urllib.parse import quote

        self.app.request("DELETE", "/api/Jobs/" + quote(ident, safe=""))
        self.records = [r for r in self.records if r["id"] != ident]

    def _after_listing(self, params: Mapping[str, str]) -> None:
        """Like the demo service: ``inserts`` new jobs (some at existing timestamps, some
        newest, some anywhere) and ``deletes`` random ones after every job listing."""
        if self.inserts or self.deletes:
            with self._lock:
                self._mutate()

    def _mutate(self) -> None:
        rng = self._rng
        for _ in range(self.inserts):
            dated = [r for r in rng.sample(self.records, min(50, len(self.records)))]
            dated = [r for r in dated if r.get("creationDate")]
            choice = rng.random()
            if choice < 0.4 and dated:
                when = datetime.fromisoformat(rng.choice(dated)["creationDate"])
            elif choice < 0.7:
                when = DEFAULT_ANCHOR + timedelta(seconds=rng.randrange(1, 86400))
            else:
                when = DEFAULT_ANCHOR - timedelta(milliseconds=rng.randrange(730 * 86400 * 1000))
            self._inserted += 1
            self.add(make_job(rng, 10**6 + self._inserted, when, _BACKENDS))
        for _ in range(min(self.deletes, len(self.records))):
            self.remove(self.records[rng.randrange(len(self.records))]["id"])


class Site:
    """One server the service tests run against (see the module docstring)."""

    def __init__(self, name: str, url: str, service: Any, *, connector: str) -> None:
        self.name = name
        self.url = url
        self.service = service
        self.connector = connector
        self.id_key: Callable[[str], Any] = ID_KEYS[connector]
        #: distinct ids never compare equal on this server (False: MariaDB folds case)
        self.exact_ids = connector != "mysql"
        self.real = isinstance(service, RealService)
        self.loaded: object = None

    def __repr__(self) -> str:
        return f"<Site {self.name}>"

    def load(
        self, jobs: Sequence[Mapping[str, Any]], *, key: object = None, now: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Replace the jobs (and, on a real app, backends and reservations); the records as
        the server now keeps them. ``key``: skip the load when that data set is loaded."""
        if key is not None and key == self.loaded:
            return self.service.snapshot()  # type: ignore[no-any-return]
        now = now or datetime.now(UTC)
        self.service.page_cap = None
        if self.real:
            records = self.service.load(jobs, now)
        else:
            self.service.jobs.replace([dict(r) for r in jobs])
            records = self.service.snapshot()
        self.service.reset_log()
        self.loaded = key
        return records  # type: ignore[no-any-return]

    def add(self, record: Mapping[str, Any]) -> None:
        if self.real:
            self.service.add(record)
        else:
            self.service.jobs.add(dict(record))
        self.loaded = None

    def connect(self, token: str | None = None, **options: Any) -> qwhere.Provider:
        return qwhere.connect(self.url, token, connector=self.connector, **options)

    def expected(
        self, records: list[Record], accept: Callable[[Record], bool], **kw: Any
    ) -> list[str]:
        return expected_ids(records, accept, id_key=self.id_key, **kw)

    def matches(self, got: list[str], records: list[Record], *, descending: bool = True) -> bool:
        return listing_matches(
            got, records, descending=descending, id_key=self.id_key, exact=self.exact_ids
        )

    @property
    def reservations(self) -> list[dict[str, Any]]:
        if self.real:
            return self.service.reservation_records  # type: ignore[no-any-return]
        return self.service.reservations.records  # type: ignore[no-any-return]

    @property
    def backends(self) -> list[dict[str, Any]]:
        if self.real:
            return self.service.backend_records  # type: ignore[no-any-return]
        return self.service.backends.records  # type: ignore[no-any-return]


class Sites:
    """The session's sites, started on first use: ``sites("postgresql")``."""

    def __init__(self, apps: _Apps) -> None:
        self._apps = apps
        self._sites: dict[str, Site] = {}
        self._stack = ExitStack()

    def __call__(self, name: str) -> Site:
        found = self._sites.get(name)
        if found is not None:
            return found
        if name == "demo":
            url = self._stack.enter_context(serve(jobs=0))
            site = Site("demo", url, url.service, connector="memory")
        else:
            app = self._apps(name)
            proxy = FaultProxy(app.base)
            self._stack.callback(proxy.close)
            service = RealService(app, proxy, resolution_ms=1000 if name == "mysql" else 1)
            site = Site(name, proxy.url, service, connector=name)
        self._sites[name] = site
        return site

    def close(self) -> None:
        self._stack.close()


@contextmanager
def settings(service: Any, **values: Any) -> Iterator[None]:
    """``with settings(site.service, page_cap=7, faults=0.3): ...``, restored after."""
    before = {k: getattr(service, k) for k in values}
    for k, v in values.items():
        setattr(service, k, v)
    try:
        yield
    finally:
        for k, v in before.items():
            setattr(service, k, v)
