"""The service client: backends, jobs and reservations of a LoopBack job service.

>>> import qwhere
>>> from qwhere.testing import serve
>>> with serve(jobs=300, page_cap=50) as url:
...     provider = qwhere.connect(url, connector="memory")
...     done = provider.jobs(limit=None, status="DONE", job_tags=["bell"])
...     all(job.status is qwhere.JobStatus.DONE for job in done)
True

``connect(url, token)`` returns a :class:`Provider`. ``provider.backend`` is a
:class:`BackendService` (callable: ``provider.backends(...)`` calls it, and
``provider.backend.ibmq_lima`` is a backend). Every filtering argument of the
seed API keeps its meaning; ``where=`` adds a filter in qwhere's language, and
everything given is ANDed. Listings page by keyset on ``(creationDate, id)``
(``qwhere.client.pagination``; see ``docs/pagination.md``) and fetch disjoint date
ranges concurrently when a listing is large (``qwhere.client.ranges``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Unpack
from urllib.parse import quote

from ..errors import (
    ArgumentError,
    BackendNotFoundError,
    JobNotFoundError,
    ProtocolError,
    QwhereError,
    UnknownFieldError,
)
from ..loopback.profiles import Profile, get_profile
from ..models import Backend, Job, Reservation
from ..schemas import BACKENDS
from ..transport import Transport
from ..tree import Compare, Expr, Quantified, Test, conjoin
from ..values import coerce_value
from .arguments import (
    JobFilters,
    JobQuery,
    count_arg,
    filter_expr,
    job_query,
    opt_text,
    strings,
    text_arg,
    type_error,
)
from .listing import JobIterator, Lister, ListingStats
from .pagination import IdOrder, Keyset
from .wire import TransportLike, get_count

__all__ = [
    "BackendService",
    "JobIterator",
    "ListingStats",
    "Provider",
    "connect",
]

log = logging.getLogger("qwhere.client")

_CREDENTIALS = ("hub", "group", "project")


class _Core:
    """What a provider and its backend service share: transport, account, options, cache."""

    def __init__(
        self,
        transport: TransportLike,
        credentials: Mapping[str, str | None],
        *,
        profile: Profile,
        page_size: int,
        workers: int,
    ) -> None:
        self.transport = transport
        self.credentials = dict(credentials)
        self.profile = profile
        self.ids = IdOrder.of(profile)
        self.page_size = page_size
        self.workers = workers
        self.backend_cache: dict[str, Backend] | None = None

    def __repr__(self) -> str:
        return f"<_Core {self.transport.url} connector={self.profile.name}>"

    def job_lister(self, query: JobQuery, *, limit: int | None, skip: int) -> Lister[Job]:
        keyset = Keyset(query.where, query.descending, self.ids, "creationDate", "/Jobs")
        return Lister(
            self.transport,
            keyset,
            Job.from_json,  # the records are fresh JSON: the jobs keep them as they are
            query.accept,
            limit=limit,
            skip=skip,
            page_size=self.page_size,
            workers=self.workers,
        )

    def fetch_backends(self, service: BackendService, timeout: float | None) -> list[Backend]:
        log.debug("GET /Backends")
        body = self.transport.get("/Backends", timeout=timeout)
        if not isinstance(body, list):
            raise ProtocolError(f"GET /Backends: expected a JSON list, not {type(body).__name__}")
        backends = [Backend.from_record(record, service) for record in body]
        self.backend_cache = {b.name: b for b in backends}
        return backends

    def backend_named(self, service: BackendService, name: str) -> Backend | None:
        if self.backend_cache is None or name not in self.backend_cache:
            self.fetch_backends(service, None)
        assert self.backend_cache is not None
        return self.backend_cache.get(name)


class _JobMethods:
    """The job methods of a provider and of its backend service (the seed has both).

    The filters (``backend_name``, ``status``, ``job_name``, ``start_datetime``,
    ``end_datetime``, ``job_tags``, ``job_tags_operator``, ``experiment_id``,
    ``db_filter``, ``where``) are keywords, typed once as
    :class:`~qwhere.client.arguments.JobFilters`.
    """

    _core: _Core

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        *,
        descending: bool = True,
        **filters: Unpack[JobFilters],
    ) -> list[Job]:
        """Jobs matching every filter given, newest first (``descending``).

        ``limit=None`` returns every match; ``skip`` skips that many matches.
        ``status`` is a :class:`JobStatus`, its name, or a list of those;
        ``job_name`` a regular expression searched in the name; the dates are
        inclusive (naive values are local time); ``job_tags`` must all be present
        with ``job_tags_operator="AND"``, any of them with ``"OR"``;
        ``db_filter`` is a LoopBack where clause; ``where`` is qwhere filter
        text or a ``Q`` expression. All of them are ANDed.
        """
        return list(self.iter_jobs(limit, skip, descending=descending, **filters))

    def iter_jobs(
        self,
        limit: int | None = None,
        skip: int = 0,
        *,
        descending: bool = True,
        **filters: Unpack[JobFilters],
    ) -> JobIterator:
        """Like :meth:`jobs`, lazily (every match by default), in bounded memory.

        Arguments are checked now; the first request is sent on the first ``next()``.
        The iterator's ``where`` is the condition sent, ``stats`` what it cost.
        """
        count = count_arg("limit", limit, optional=True)
        offset = count_arg("skip", skip)
        assert offset is not None
        core = self._core
        query = job_query(
            filters, descending=descending, now=datetime.now(UTC), profile=core.profile
        )
        return JobIterator(core.job_lister(query, limit=count, skip=offset))

    def count_jobs(self, **filters: Unpack[JobFilters]) -> int:
        """How many jobs match (one ``/Jobs/count`` request when the server can say)."""
        core = self._core
        query = job_query(filters, now=datetime.now(UTC), profile=core.profile)
        if not query.exact:
            return sum(1 for _ in self.iter_jobs(None, **filters))
        return get_count(core.transport, "/Jobs", query.where)

    def retrieve_job(self, job_id: str) -> Job:
        """The job with id ``job_id`` (``JobNotFoundError`` when there is none)."""
        if not isinstance(job_id, str):
            raise type_error("job_id", "a string", job_id)
        if not job_id or job_id in (".", ".."):
            raise ArgumentError(f"{job_id!r} is not a job id")
        text_arg("job_id", job_id)
        path = "/Jobs/" + quote(job_id, safe="")
        log.debug("GET %s", path)
        body = self._core.transport.get(path, not_found=JobNotFoundError)
        job = Job.from_record(body)
        if job.id != job_id:
            raise ProtocolError(f"GET /Jobs/{job_id}: the server answered with job {job.id}")
        return job

    def my_reservations(self) -> list[Reservation]:
        """Your reservations that have not ended yet, soonest first."""
        core = self._core
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        keyset = Keyset({"endDate": {"gte": now}}, False, core.ids, "initialDate", "/Reservations")
        lister: Lister[Reservation] = Lister(
            core.transport,
            keyset,
            Reservation.from_record,
            None,
            limit=None,
            skip=0,
            page_size=core.page_size,
            workers=1,
            undated=False,  # every reservation has an initialDate
        )
        return list(lister)


class _NoSuchBackend(BackendNotFoundError, AttributeError):
    """``provider.backend.<name>`` for a name no backend has."""


class BackendService(_JobMethods):
    """The backends namespace of a provider (``provider.backend``), callable as ``backends``.

    ``service.<name>`` is the backend of that name (``dir()`` lists them); names
    never shadow the methods: ``service.get_backend(name)`` reaches any backend.
    """

    def __init__(self, core: _Core) -> None:
        object.__setattr__(self, "_core", core)

    def __repr__(self) -> str:
        return f"<BackendService of {self._core.transport.url}>"

    def __call__(
        self,
        name: str | None = None,
        filters: Callable[[Backend], object] | None = None,
        timeout: float | None = None,
        min_num_qubits: int | None = None,
        input_allowed: str | Sequence[str] | None = None,
        where: str | Expr | None = None,
        **kwargs: Any,
    ) -> list[Backend]:
        return self.backends(name, filters, timeout, min_num_qubits, input_allowed, where, **kwargs)

    def backends(
        self,
        name: str | None = None,
        filters: Callable[[Backend], object] | None = None,
        timeout: float | None = None,
        min_num_qubits: int | None = None,
        input_allowed: str | Sequence[str] | None = None,
        where: str | Expr | None = None,
        **kwargs: Any,
    ) -> list[Backend]:
        """The backends matching every argument, statuses included, in one request.

        ``kwargs`` are matched against configuration fields (``n_qubits=5``), then
        status fields (``operational=True``), then the account (``hub="ibm-q"``);
        an unknown name is an error. ``filters`` is a callable given each backend;
        ``timeout`` bounds the request (seconds).
        """
        from ..evaluator import predicate

        parts: list[Expr] = []
        backend = opt_text("name", name)
        if backend is not None:
            parts.append(Compare(("name",), "==", backend))
        if filters is not None:
            if not callable(filters):
                raise type_error("filters", "a callable", filters)
            parts.append(Test(filters))
        seconds: float | None = None
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
                raise type_error("timeout", "a positive number of seconds", timeout)
            seconds = float(timeout)
        qubits = count_arg("min_num_qubits", min_num_qubits, optional=True)
        if qubits is not None:
            parts.append(Compare(("n_qubits",), ">=", qubits))
        inputs = strings("input_allowed", input_allowed, singular_ok=True)
        if inputs is not None:
            parts.append(Quantified(("input_allowed",), "all", inputs))
        extra = filter_expr(where, "backends")
        if extra is not None:
            parts.append(extra)
        account_ok = True
        for key, value in kwargs.items():
            if key in _CREDENTIALS:
                if not isinstance(value, str):
                    raise type_error(key, "a string", value)
                account_ok = account_ok and self._core.credentials.get(key) == value
            elif BACKENDS.get((key,)) is not None:
                try:
                    parts.append(Compare((key,), "==", coerce_value(value)))
                except (TypeError, ValueError) as exc:
                    raise ArgumentError(f"{key}: {exc}") from None
            else:
                raise UnknownFieldError(key, [*BACKENDS.names, *_CREDENTIALS])
        accept = predicate(conjoin(parts), BACKENDS)
        if not account_ok:
            return []
        backends = self._core.fetch_backends(self, seconds)
        return [b for b in backends if accept(b)]

    def get_backend(self, name: str) -> Backend:
        """The backend called ``name`` (``BackendNotFoundError`` when there is none)."""
        found = self.backends(name=name)
        if not found:
            raise BackendNotFoundError(f"no backend named {name!r}")
        return found[0]

    def __getattr__(self, name: str) -> Backend:
        if name.startswith("_"):
            raise AttributeError(name)
        backend = self._core.backend_named(self, name)
        if backend is None:
            names = sorted(self._core.backend_cache or ())
            raise _NoSuchBackend(f"no backend named {name!r}; backends: {', '.join(names)}")
        return backend

    def __dir__(self) -> list[str]:
        names: Iterable[str] = ()
        try:
            if self._core.backend_cache is None:
                self._core.fetch_backends(self, None)
            names = (self._core.backend_cache or {}).keys()
        except QwhereError as exc:
            log.warning("could not list the backends: %s", exc)
        return sorted(set(super().__dir__()) | {n for n in names if n.isidentifier()})


class Provider(_JobMethods):
    """An account on a job service: ``backend``/``backends`` and the job methods."""

    def __init__(self, core: _Core) -> None:
        self._core = core
        #: the backend namespace: ``provider.backend.ibmq_lima``, ``provider.backend.jobs()``
        self.backend = BackendService(core)

    @property
    def backends(self) -> BackendService:
        """Call it: ``provider.backends(n_qubits=5, operational=True)``."""
        return self.backend

    def get_backend(self, name: str) -> Backend:
        """The backend called ``name`` (``BackendNotFoundError`` when there is none)."""
        return self.backend.get_backend(name)

    @property
    def credentials(self) -> Mapping[str, str | None]:
        return dict(self._core.credentials)

    @property
    def connector(self) -> Profile:
        """The connector profile listings are compiled and walked for."""
        return self._core.profile

    def close(self) -> None:
        self._core.transport.close()

    def __enter__(self) -> Provider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        account = ", ".join(f"{k}={v!r}" for k, v in self._core.credentials.items() if v)
        return f"<Provider {self._core.transport.url}{' ' + account if account else ''}>"


def connect(
    url: str,
    token: str | None = None,
    *,
    connector: str | Profile | None = None,
    transport: TransportLike | None = None,
    hub: str | None = None,
    group: str | None = None,
    project: str | None = None,
    timeout: float | tuple[float, float] = (5.0, 30.0),
    retries: int = 5,
    backoff: float = 0.25,
    backoff_max: float = 10.0,
    max_retry_after: float = 60.0,
    page_size: int = 200,
    workers: int = 8,
    verify: bool | str = True,
    deadline: float = 120.0,
    max_response_bytes: int = 32 * 1024 * 1024,
    max_redirects: int = 5,
) -> Provider:
    """A :class:`Provider` for the LoopBack REST API at ``url`` (e.g. ``http://host/api``).

    ``connector`` names the database behind LoopBack (``"memory"``, ``"postgresql"``,
    ``"mysql"``, or a :class:`~qwhere.loopback.Profile`); ``None`` (unknown) makes
    listings assume as little as any of them allows (see ``docs/pagination.md``).

    ``token`` is sent as ``X-Access-Token``. ``timeout`` is ``(connect, read)``
    seconds (or one number for both); ``retries`` bounds the retries of a request
    (429/5xx/dropped connections/cut bodies, with exponential ``backoff`` and
    ``Retry-After`` honoured up to ``max_retry_after`` seconds). ``page_size`` is
    how many records a listing asks for per request (a server may cap it lower);
    ``workers`` bounds the concurrent requests of a large listing (1: sequential).
    ``hub``/``group``/``project`` name the account, for ``backends(hub=...)``.
    ``deadline`` bounds one request in all (attempts, redirects and pauses: seconds),
    ``max_response_bytes`` the size of an answer, ``max_redirects`` the redirects a request
    follows (only within the service's origin: the token is never sent elsewhere).
    Every bad argument is an :class:`~qwhere.errors.ArgumentError`, raised before any request.

    ``transport`` replaces the HTTP transport with any object that has the
    :class:`~qwhere.client.wire.TransportLike` methods (the token, timeouts, retries
    and ``verify`` are then the transport's business, not ``connect``'s).
    """
    for key, value in (("hub", hub), ("group", group), ("project", project)):
        opt_text(key, value)
    profile = get_profile(connector)
    size = count_arg("page_size", page_size)
    if not size:
        raise ArgumentError("page_size must be >= 1")
    threads = count_arg("workers", workers)
    if not threads:
        raise ArgumentError("workers must be >= 1")
    if transport is not None:
        if not isinstance(transport, TransportLike):
            raise type_error("transport", "an object with get(path, params) and close()", transport)
        if token is not None:
            raise ArgumentError("pass the token to the transport, not to connect()")
        if not isinstance(url, str):
            raise type_error("url", "a string", url)
        chosen: TransportLike = transport
    else:
        chosen = Transport(
            url,
            token,
            timeout=timeout,
            retries=retries,
            backoff=backoff,
            backoff_max=backoff_max,
            max_retry_after=max_retry_after,
            pool_size=max(threads, 2) + 2,
            verify=verify,
            deadline=deadline,
            max_response_bytes=max_response_bytes,
            max_redirects=max_redirects,
        )
    core = _Core(
        chosen,
        {"hub": hub, "group": group, "project": project},
        profile=profile,
        page_size=size,
        workers=threads,
    )
    return Provider(core)
