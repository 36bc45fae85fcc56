"""What the service returns: jobs, backends and reservations as immutable attrs models.

Every model keeps the server's record as ``raw`` (a read-only view of the JSON
object) and hands it to :func:`qwhere.predicate` through ``__qwhere_record__``,
so a filter reads a model exactly as it reads the record. Datetimes are aware
(UTC unless the server said otherwise).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Unpack

import attrs

from .errors import JobNotFoundError, ProtocolError
from .status import API_STATUSES, JobStatus, from_api

if TYPE_CHECKING:
    from .client.arguments import BackendJobFilters
    from .client.service import BackendService


__all__ = [
    "Backend",
    "BackendConfiguration",
    "BackendStatus",
    "Job",
    "Reservation",
    "parse_datetime",
]


def parse_datetime(value: object, what: str, *, optional: bool = True) -> datetime | None:
    """An aware datetime from a record's ISO-8601 string (naive strings are UTC)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{what} must be an ISO-8601 date string, not {value!r}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ProtocolError(f"{what} is not an ISO-8601 date: {value!r}") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _record(value: object, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProtocolError(f"expected a JSON object for {what}, not {type(value).__name__}")
    return value


def _text(record: Mapping[str, Any], key: str, what: str, *, optional: bool = True) -> str | None:
    value = record.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{what}: {key} must be a string, not {value!r}")
    return value


def _freeze(record: Mapping[str, Any]) -> Mapping[str, Any]:
    return record if isinstance(record, MappingProxyType) else MappingProxyType(dict(record))


@attrs.frozen
class Job:
    """One job. ``status`` is the user-facing :class:`JobStatus`; ``api_status`` the server's."""

    id: str
    name: str | None
    status: JobStatus
    api_status: str
    creation_date: datetime | None
    backend_name: str | None
    tags: tuple[str, ...]
    experiment_id: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)

    @classmethod
    def from_record(cls, value: object) -> Job:
        """A job from a job record (copied: later changes to ``value`` do not reach it)."""
        record = _record(value, "a job")
        return cls.from_json(record if isinstance(record, MappingProxyType) else dict(record))

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> Job:
        """A job from a record it may keep as it is (a JSON object just decoded).

        Every field is checked as :meth:`from_record` checks it; plain ``dict`` records
        take a fast path (listings build one job per record received).
        """
        if not isinstance(record, dict):
            record = _record(record, "a job")
        get = record.get
        job_id = get("id")
        if not isinstance(job_id, str) or not job_id:
            raise ProtocolError(f"a job record has no string id: {job_id!r}")
        api_status = get("status")
        status = API_STATUSES.get(api_status) if isinstance(api_status, str) else None
        if status is None:
            status = _status(record, job_id)
        backend = get("backend")
        backend_name = None
        if backend is not None:
            name_of = backend.get("name") if isinstance(backend, dict) else _MISSING
            if name_of is None or isinstance(name_of, str):
                backend_name = name_of
            else:
                what = f"job {job_id}"
                backend_name = _text(_record(backend, f"{what}: backend"), "name", what)
        tags = get("tags")
        if tags is None:
            tag_tuple: tuple[str, ...] = ()
        elif isinstance(tags, list) and all(isinstance(t, str) for t in tags):
            tag_tuple = tuple(tags)
        else:
            raise ProtocolError(f"job {job_id}: tags must be a list of strings, not {tags!r}")
        name = get("name")
        if name is not None and not isinstance(name, str):
            _text(record, "name", f"job {job_id}")
        experiment = get("experimentTag")
        if experiment is not None and not isinstance(experiment, str):
            _text(record, "experimentTag", f"job {job_id}")
        created = get("creationDate")
        creation_date = (
            None if created is None else parse_datetime(created, f"job {job_id}: creationDate")
        )
        job = _new(cls)
        _set_id(job, job_id)
        _set_name(job, name)
        _set_status(job, status)
        _set_api_status(job, api_status)
        _set_creation_date(job, creation_date)
        _set_backend_name(job, backend_name)
        _set_tags(job, tag_tuple)
        _set_experiment_id(job, experiment)
        _set_raw(job, record if isinstance(record, MappingProxyType) else MappingProxyType(record))
        return job

    def __qwhere_record__(self) -> Mapping[str, Any]:
        return self.raw

    def job_id(self) -> str:
        """The seed's ``job.job_id()``: :attr:`id`."""
        return self.id

    def __getattr__(self, name: str) -> Any:
        # only for names a Job lacks: the seed's methods, with what to use instead
        hint = _SEED_JOB_METHODS.get(name)
        if hint is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        raise AttributeError(
            f"Job has no {name}(), the seed's method; {hint} (see docs/migrating.md)"
        )


#: The seed's Job methods qwhere does not have, and what to use instead.
_SEED_JOB_METHODS = {
    "backend": "use job.backend_name (a str), or provider.get_backend(job.backend_name)",
    "creation_date_str": "use job.creation_date (an aware datetime)",
    "experiment_tag": "use job.experiment_id",
    "api_status_str": "use job.api_status",
    "queue_position": "the demo contract has no queue position; read job.raw",
    "result": "qwhere lists and filters jobs; results come from the service's own client",
    "refresh": "retrieve it again: provider.retrieve_job(job.id)",
}


_MISSING: Any = object()
_new = object.__new__


def _status(record: Mapping[str, Any], job_id: str) -> JobStatus:
    what = f"job {job_id}"
    api_status = _text(record, "status", what, optional=False)
    assert api_status is not None
    try:
        return from_api(api_status)
    except ValueError:
        raise ProtocolError(f"{what}: unknown API status {api_status!r}") from None


def _slot(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The setter of a frozen attrs class's slot (what its generated ``__init__`` uses)."""
    setter: Callable[[Any, Any], None] = cls.__dict__[name].__set__
    return setter


_set_id = _slot(Job, "id")
_set_name = _slot(Job, "name")
_set_status = _slot(Job, "status")
_set_api_status = _slot(Job, "api_status")
_set_creation_date = _slot(Job, "creation_date")
_set_backend_name = _slot(Job, "backend_name")
_set_tags = _slot(Job, "tags")
_set_experiment_id = _slot(Job, "experiment_id")
_set_raw = _slot(Job, "raw")


class _Namespace(Mapping[str, Any]):
    """Read-only attribute *and* mapping access to a JSON object (``cfg.n_qubits``)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        data: Mapping[str, Any] = object.__getattribute__(self, "_data")
        try:
            return data[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __dir__(self) -> list[str]:
        return sorted(set(self._data) | {"to_dict"})

    def to_dict(self) -> dict[str, Any]:
        return dict(self._data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._data)!r})"


class BackendConfiguration(_Namespace):
    """A backend's configuration: ``n_qubits``, ``simulator``, ``basis_gates``, ..."""


class BackendStatus(_Namespace):
    """A backend's status: ``operational``, ``pending_jobs``, ``status_msg``."""


@attrs.frozen
class Backend:
    """A backend; ``jobs``/``retrieve_job`` are scoped to it.

    ``configuration()`` and ``status()`` return read-only namespaces, so the seed's
    ``filters=lambda b: b.configuration().quantum_volume > 16`` works as written.
    """

    name: str
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)
    _service: BackendService | None = attrs.field(
        default=None, repr=False, eq=False, alias="service"
    )

    @classmethod
    def from_record(cls, value: object, service: BackendService | None = None) -> Backend:
        record = _record(value, "a backend")
        name = record.get("name")
        if not isinstance(name, str) or not name:
            raise ProtocolError(f"a backend record has no string name: {name!r}")
        for key in ("configuration", "status"):
            if record.get(key) is not None:
                _record(record[key], f"backend {name}: {key}")
        return cls(name, _freeze(record), service)

    def configuration(self) -> BackendConfiguration:
        return BackendConfiguration(self.raw.get("configuration") or {})

    def status(self) -> BackendStatus:
        return BackendStatus(self.raw.get("status") or {})

    @property
    def n_qubits(self) -> int | None:
        value = self.configuration().get("n_qubits")
        return value if isinstance(value, int) else None

    @property
    def simulator(self) -> bool:
        return bool(self.configuration().get("simulator", False))

    @property
    def operational(self) -> bool:
        return bool(self.status().get("operational", False))

    def __qwhere_record__(self) -> Mapping[str, Any]:
        return self.raw

    def _require_service(self) -> BackendService:
        if self._service is None:
            raise ProtocolError(f"backend {self.name} is not attached to a provider")
        return self._service

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        descending: bool = True,
        **filters: Unpack[BackendJobFilters],
    ) -> list[Job]:
        """This backend's jobs: :meth:`BackendService.jobs` without ``backend_name``."""
        return self._require_service().jobs(
            limit=limit, skip=skip, descending=descending, backend_name=self.name, **filters
        )

    def iter_jobs(
        self,
        limit: int | None = None,
        skip: int = 0,
        descending: bool = True,
        **filters: Unpack[BackendJobFilters],
    ) -> Iterator[Job]:
        """Lazily, this backend's jobs (see :meth:`BackendService.iter_jobs`)."""
        return self._require_service().iter_jobs(
            limit=limit, skip=skip, descending=descending, backend_name=self.name, **filters
        )

    def count_jobs(self, **filters: Unpack[BackendJobFilters]) -> int:
        """How many of this backend's jobs match (see :meth:`BackendService.count_jobs`)."""
        return self._require_service().count_jobs(backend_name=self.name, **filters)

    def retrieve_job(self, job_id: str) -> Job:
        """The job ``job_id``, which must have run on this backend (else JobNotFoundError)."""
        job = self._require_service().retrieve_job(job_id)
        if job.backend_name != self.name:
            raise JobNotFoundError(
                f"job {job_id!r} ran on {job.backend_name!r}, not on {self.name!r}", status=None
            )
        return job


@attrs.frozen
class Reservation:
    """A reservation of a backend for a time window."""

    reservation_id: str
    backend_name: str | None
    start_datetime: datetime
    end_datetime: datetime
    creation_datetime: datetime | None
    mode: str | None
    hub_info: Mapping[str, Any] | None = attrs.field(repr=False, eq=False)
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)

    @classmethod
    def from_record(cls, value: object) -> Reservation:
        record = _record(value, "a reservation")
        rid = record.get("id")
        if not isinstance(rid, str | int) or isinstance(rid, bool):
            raise ProtocolError(f"a reservation record has no id: {rid!r}")
        what = f"reservation {rid}"
        start = parse_datetime(record.get("initialDate"), f"{what}: initialDate", optional=False)
        end = parse_datetime(record.get("endDate"), f"{what}: endDate", optional=False)
        assert start is not None and end is not None
        hub = record.get("hubInfo")
        return cls(
            reservation_id=str(rid),
            backend_name=_text(record, "backendName", what),
            start_datetime=start,
            end_datetime=end,
            creation_datetime=parse_datetime(record.get("creationDate"), f"{what}: creationDate"),
            mode=_text(record, "mode", what),
            hub_info=None if hub is None else _freeze(_record(hub, f"{what}: hubInfo")),
            raw=_freeze(record),
        )

    @property
    def duration_minutes(self) -> float:
        return (self.end_datetime - self.start_datetime).total_seconds() / 60

    def __qwhere_record__(self) -> Mapping[str, Any]:
        return self.raw
