"""The seed's arguments: checked, then lowered to one filter tree and a plan.

The job filters every ``jobs``-like method takes are written once, as
:class:`JobFilters` (``BackendJobFilters`` for a backend's own jobs, which has no
``backend_name``); the methods take ``limit``, ``skip`` and ``descending`` beside
them. Every check runs before a request is sent and raises
:class:`~qwhere.errors.ArgumentError` (a ``TypeError`` and a ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict

import attrs

from ..errors import ArgumentError
from ..loopback.profiles import Profile
from ..schemas import BACKENDS, JOBS
from ..status import JobStatus
from ..tree import Compare, Expr, In, Match, Quantified, check_text, conjoin
from ..values import check_scalar, to_utc

if TYPE_CHECKING:
    from ..models import Job

__all__ = [
    "BackendJobFilters",
    "JobFilters",
    "JobQuery",
    "check_filters",
    "job_filter",
    "job_query",
]


class BackendJobFilters(TypedDict, total=False):
    """The job filters of ``Backend.jobs``-like methods (everything but ``backend_name``)."""

    status: JobStatus | str | Sequence[JobStatus | str] | None
    job_name: str | None
    start_datetime: datetime | None
    end_datetime: datetime | None
    job_tags: Sequence[str] | None
    job_tags_operator: str
    experiment_id: str | None
    db_filter: Mapping[str, Any] | None
    where: str | Expr | None


class JobFilters(BackendJobFilters, total=False):
    """The job filters of ``provider.jobs``, ``iter_jobs`` and ``count_jobs``.

    ``status`` is a :class:`~qwhere.JobStatus`, its name, or a list of those;
    ``job_name`` a regular expression searched in the name; the dates are
    inclusive (naive values are local time); ``job_tags`` must all be present with
    ``job_tags_operator="AND"``, any of them with ``"OR"``; ``db_filter`` is a
    LoopBack where clause; ``where`` is qwhere filter text or a ``Q`` expression.
    All of them are ANDed.
    """

    backend_name: str | None


_FILTER_NAMES: frozenset[str] = frozenset(JobFilters.__optional_keys__)
_MAX_COUNT = 2**53 - 1  # what a LoopBack (JavaScript) server reads exactly


def check_filters(filters: Mapping[str, object], allowed: frozenset[str] = _FILTER_NAMES) -> None:
    """An unknown keyword is an error (``**filters`` would otherwise accept anything)."""
    unknown = sorted(set(filters) - allowed)
    if unknown:
        names = ", ".join(sorted(allowed))
        raise ArgumentError(
            f"unexpected keyword argument {unknown[0]!r}; the job filters are: {names}"
        )


# -- single arguments -----------------------------------------------------------------------------


def type_error(name: str, expected: str, value: object) -> ArgumentError:
    return ArgumentError(f"{name} must be {expected}, not {value!r} ({type(value).__name__})")


def opt_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise type_error(name, "a string or None", value)
    if not value:
        raise ArgumentError(f"{name} must not be empty (pass None for no filter)")
    return text_arg(name, value)


def text_arg(name: str, value: str) -> str:
    return check_text(value, name)  # a lone surrogate cannot be sent


def count_arg(name: str, value: object, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(name, "an int" + (" or None" if optional else ""), value)
    if value < 0:
        raise ArgumentError(f"{name} must be >= 0, not {value}")
    if value > _MAX_COUNT:
        raise ArgumentError(f"{name} must be at most {_MAX_COUNT} (2**53 - 1), not {value}")
    return value


def bool_arg(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise type_error(name, "True or False", value)
    return value


def _moment(name: str, value: object, *, up: bool) -> datetime | None:
    """A UTC datetime rounded to the millisecond LoopBack keeps (up for a lower bound)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise type_error(name, "a datetime (naive values are local time)", value)
    try:
        moment = to_utc(check_scalar(value))  # type: ignore[arg-type]
    except (ArgumentError, OverflowError, ValueError) as exc:
        raise ArgumentError(f"{name}: {value} is out of range ({exc})") from None
    extra = moment.microsecond % 1000
    if extra:
        moment = moment - timedelta(microseconds=extra)
        if up:
            moment += timedelta(milliseconds=1)
    return moment


def strings(name: str, value: object, *, singular_ok: bool = False) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if singular_ok:
            return [value]
        raise type_error(name, "a list of strings", value)
    if not isinstance(value, list | tuple | set | frozenset):
        raise type_error(name, "a list of strings", value)
    items = list(value)
    if not items:
        raise ArgumentError(f"{name} must not be empty (pass None for no filter)")
    for item in items:
        if not isinstance(item, str):
            raise type_error(f"every item of {name}", "a string", item)
        text_arg(f"an item of {name}", item)
    return items


def _statuses(value: object) -> list[str] | None:
    if value is None:
        return None
    items: list[object] = (
        list(value) if isinstance(value, list | tuple | set | frozenset) else [value]
    )
    if not items:
        raise ArgumentError("status must not be empty (pass None for any status)")
    names: list[str] = []
    for item in items:
        if isinstance(item, JobStatus):
            names.append(item.name)
        elif isinstance(item, str):
            names.append(item)
        else:
            raise type_error("status", "a JobStatus, its name or a list of those", item)
    return names


def filter_expr(value: object, schema_name: str) -> Expr | None:
    if value is None:
        return None
    if isinstance(value, str):
        from ..parser import parse

        return parse(value, JOBS if schema_name == "jobs" else BACKENDS)
    if isinstance(value, Expr):
        return value
    raise type_error("where", "filter text or a filter (Q...)", value)


# -- the job filter ------------------------------------------------------------------------------


def job_filter(
    *,
    backend_name: object = None,
    status: object = None,
    job_name: object = None,
    start_datetime: object = None,
    end_datetime: object = None,
    job_tags: object = None,
    job_tags_operator: object = "OR",
    experiment_id: object = None,
    db_filter: object = None,
    where: object = None,
) -> Expr:
    """The seed's job arguments as one tree on server paths (everything ANDed).

    Raises a :class:`~qwhere.errors.QwhereError` for any bad argument.
    """
    from ..where import from_where

    parts: list[Expr] = []
    name = opt_text("backend_name", backend_name)
    if name is not None:
        parts.append(Compare(("backend",), "==", name))
    names = _statuses(status)
    if names is not None:
        parts.append(
            Compare(("status",), "==", names[0]) if len(names) == 1 else In(("status",), names)
        )
    if job_name == "":
        raise ArgumentError("job_name must not be empty (pass None for any name)")
    pattern = opt_text("job_name", job_name)
    if pattern is not None:
        try:
            parts.append(Match(("name",), pattern))
        except ValueError as exc:
            raise ArgumentError(f"job_name is not a valid regular expression: {exc}") from None
    start = _moment("start_datetime", start_datetime, up=True)
    if start is not None:
        parts.append(Compare(("created",), ">=", start))
    end = _moment("end_datetime", end_datetime, up=False)
    if end is not None:
        parts.append(Compare(("created",), "<=", end))
    if not isinstance(job_tags_operator, str):
        raise type_error("job_tags_operator", '"AND" or "OR"', job_tags_operator)
    operator = job_tags_operator.upper()
    if operator not in ("AND", "OR"):
        raise ArgumentError(f'job_tags_operator must be "AND" or "OR", not {job_tags_operator!r}')
    tags = strings("job_tags", job_tags)
    if tags is not None:
        parts.append(Quantified(("tags",), "all" if operator == "AND" else "any", tags))
    experiment = opt_text("experiment_id", experiment_id)
    if experiment is not None:
        parts.append(Compare(("experiment_id",), "==", experiment))
    extra = filter_expr(where, "jobs")
    if extra is not None:
        parts.append(extra)
    server = JOBS.lower(conjoin(parts))
    if db_filter is not None:
        if not isinstance(db_filter, Mapping):
            raise type_error("db_filter", "a LoopBack where clause (a dict)", db_filter)
        server = conjoin([server, from_where(db_filter, types=JOBS.server_types())])
    return server


@attrs.frozen
class JobQuery:
    """A validated job filter: the server ``where`` and the client-side rest."""

    where: dict[str, Any]
    accept: Callable[[Job], bool] | None
    descending: bool
    profile: Profile

    @property
    def exact(self) -> bool:
        return self.accept is None


def job_query(
    filters: Mapping[str, object],
    *,
    descending: object = True,
    now: datetime,
    profile: Profile,
    allowed: frozenset[str] = _FILTER_NAMES,
) -> JobQuery:
    """Check ``filters`` (a :class:`JobFilters`) and plan them for ``profile``'s server."""
    from ..planner import plan

    check_filters(filters, allowed)
    desc = bool_arg("descending", descending)
    tree = job_filter(**filters)
    planned = plan(tree, connector=profile, types=JOBS.server_types(), now=now)
    accept = planned.matches if planned.residual is not None else None
    return JobQuery(dict(planned.where), accept, desc, profile)
