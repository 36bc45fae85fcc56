"""The independent oracle of the service tests: the documented order and the seed's
documented meaning of each argument, written by hand (no qwhere planner, no predicate).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "ID_KEYS",
    "STATUS_API",
    "Record",
    "all_of",
    "by_backend",
    "by_name",
    "by_status",
    "case_insensitive_key",
    "codepoint_key",
    "created",
    "expected_ids",
    "experiment",
    "hub",
    "js_key",
    "listing_matches",
    "ordered_ids",
    "since",
    "tags_all",
    "tags_any",
    "until",
]

Record = Mapping[str, Any]

#: API statuses for each JobStatus name, written out independently of qwhere.status
STATUS_API = {
    "INITIALIZING": {"CREATING", "CREATED", "TRANSPILING", "TRANSPILED"},
    "VALIDATING": {"VALIDATING", "VALIDATED"},
    "QUEUED": {"PENDING_IN_QUEUE", "QUEUED"},
    "RUNNING": {"RUNNING"},
    "DONE": {"COMPLETED"},
    "CANCELLED": {"CANCELLED"},
    "ERROR": {
        "ERROR_CREATING_JOB",
        "ERROR_VALIDATING_JOB",
        "ERROR_TRANSPILING_JOB",
        "ERROR_RUNNING_JOB",
    },
}


def created(record: Record) -> datetime | None:
    value = record.get("creationDate")
    return None if value is None else datetime.fromisoformat(value)


def js_key(ident: str) -> bytes:
    return ident.encode("utf-16-be", "surrogatepass")


def codepoint_key(ident: str) -> bytes:
    """PostgreSQL with a C collation: code points."""
    return ident.encode("utf-32-be")


def case_insensitive_key(ident: str) -> str:
    """MariaDB's utf8mb4_general_ci on ASCII ids: upper case, trailing spaces ignored."""
    return ident.rstrip(" ").upper()


#: how each connector orders ids, written out here independently of qwhere's profiles
ID_KEYS: dict[str, Callable[[str], Any]] = {
    "memory": js_key,
    "postgresql": codepoint_key,
    "mysql": case_insensitive_key,
}


def ordered_ids(
    records: list[Record], descending: bool = True, id_key: Callable[[str], Any] = js_key
) -> list[str]:
    """The documented order: dated by (creationDate, id), undated by id, undated last
    when descending and first when ascending; ids ordered as the server orders them
    (``id_key``; ids it holds equal keep their stored order here)."""
    dated = [r for r in records if created(r) is not None]
    undated = [r for r in records if created(r) is None]
    dated.sort(key=lambda r: (created(r), id_key(r["id"])), reverse=descending)
    undated.sort(key=lambda r: id_key(r["id"]), reverse=descending)
    rows = dated + undated if descending else undated + dated
    return [r["id"] for r in rows]


def expected_ids(
    records: list[Record],
    accept: Callable[[Record], bool],
    *,
    descending: bool = True,
    limit: int | None = None,
    skip: int = 0,
    id_key: Callable[[str], Any] = js_key,
) -> list[str]:
    ids = ordered_ids([r for r in records if accept(r)], descending, id_key)[skip:]
    return ids if limit is None else ids[:limit]


def listing_matches(
    got: list[str],
    records: list[Record],
    *,
    descending: bool = True,
    id_key: Callable[[str], Any] = js_key,
    exact: bool = True,
) -> bool:
    """``got`` is the whole of ``records`` in order. With ``exact=False`` (a collation that
    holds distinct ids equal) records the server holds equal may come in any order
    among themselves, but each exactly once."""
    want = ordered_ids(records, descending, id_key)
    if exact:
        return got == want
    if len(got) != len(set(got)) or set(got) != set(want):
        return False
    by_id = {r["id"]: r for r in records}

    def place(ident: str) -> tuple[Any, Any]:
        return (created(by_id[ident]), id_key(ident))

    return [place(i) for i in got] == [place(i) for i in want]


# -- hand-written predicates for the seed's arguments ------------------------------------------


def by_backend(name: str) -> Callable[[Record], bool]:
    return lambda r: (r.get("backend") or {}).get("name") == name


def by_status(*names: str) -> Callable[[Record], bool]:
    wanted = set().union(*(STATUS_API[n] for n in names))
    return lambda r: r.get("status") in wanted


def by_name(pattern: str) -> Callable[[Record], bool]:
    rx = re.compile(pattern)
    return lambda r: isinstance(r.get("name"), str) and rx.search(r["name"]) is not None


def since(moment: datetime) -> Callable[[Record], bool]:
    return lambda r: (c := created(r)) is not None and c >= moment


def until(moment: datetime) -> Callable[[Record], bool]:
    return lambda r: (c := created(r)) is not None and c <= moment


def tags_any(*tags: str) -> Callable[[Record], bool]:
    return lambda r: bool(set(r.get("tags") or ()) & set(tags))


def tags_all(*tags: str) -> Callable[[Record], bool]:
    return lambda r: set(tags) <= set(r.get("tags") or ())


def experiment(name: str) -> Callable[[Record], bool]:
    return lambda r: r.get("experimentTag") == name


def hub(name: str) -> Callable[[Record], bool]:
    return lambda r: r["hubInfo"]["hub"]["name"] == name


def all_of(*tests: Callable[[Record], bool]) -> Callable[[Record], bool]:
    return lambda r: all(t(r) for t in tests)
