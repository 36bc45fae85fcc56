"""Connector profiles: what a where clause selects depends on the database behind LoopBack.

The language has one meaning: what LoopBack's reference engine (juggler's memory
connector) selects, with classical ``not``. A profile records, for one connector and
the columns LoopBack's ``automigrate`` creates on it, which clause forms deliver that
meaning exactly, which deliver a sound superset (the plan finishes on the client) and
which cannot be sent at all. The generator reads these entries; it never asks which
connector it is compiling for. A new connector is a new :class:`Profile`.

Every entry is checked against the real server: the memory connector through juggler,
PostgreSQL and MariaDB through a LoopBack 3 app (``tests/lb3``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import attrs

from ..errors import ArgumentError

__all__ = [
    "MEMORY",
    "MYSQL",
    "POSTGRESQL",
    "PROFILES",
    "UNKNOWN",
    "Profile",
    "get_profile",
]

#: How a connector stores a list property (``["string"]``): as an array the
#: operators test element by element, or as JSON text in a column.
ListStorage = Literal["array", "json_text", "either"]
#: How a connector stores an object property: queryable by dotted path, or as JSON text.
ObjectStorage = Literal["nested", "json_text"]
#: Which regular-expression dialect ``regexp`` runs in, if any.
RegexpDialect = Literal["javascript", "postgresql"]
#: How ``like`` runs: as SQL (escapes work, ``%`` spans newlines) or as juggler's memory
#: connector runs it (turned into a regular expression without escaping it).
LikeDialect = Literal["sql", "juggler"]
#: What a ``number`` property's column holds: any JavaScript number, or (automigrate's
#: INTEGER / INT(11)) 32-bit integers only; ``either``: not known, so only 32-bit
#: integers are sent (a fraction is refused by PostgreSQL's integer column).
NumberColumn = Literal["float", "int32", "either"]
#: How the connector orders and compares strings.
StringOrder = Literal["utf16", "codepoint", "case_insensitive"]


def _utf16_key(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")


def _codepoint_key(text: str) -> bytes:
    return text.encode("utf-32-be", "surrogatepass")


def _case_insensitive_key(text: str) -> str:
    # utf8mb4_general_ci: one weight per character (its upper case), PAD SPACE
    return text.rstrip(" ").upper()


_ID_KEYS: dict[StringOrder, Callable[[str], object]] = {
    "utf16": _utf16_key,
    "codepoint": _codepoint_key,
    "case_insensitive": _case_insensitive_key,
}


@attrs.frozen
class Profile:
    """The facts about one connector that decide how a tree is sent to it."""

    #: ``connector=`` spells it this way
    name: str
    #: one line for ``explain``
    description: str
    #: ``neq`` / ``nin`` also select records where the field is null or missing
    neq_selects_null: bool
    #: string ``=`` compares exactly (False: case-insensitive or pad-space, a superset)
    exact_string_equality: bool
    #: how strings (and so ids) are ordered; ``None``: unknown, nothing ordered is sent
    string_order: StringOrder | None
    lists: ListStorage
    objects: ObjectStorage | None
    #: ``None``: ``regexp`` is not available (the server fails on it)
    regexp: RegexpDialect | None
    #: dates are kept to this many milliseconds (1000: whole seconds)
    date_resolution_ms: int
    like: LikeDialect
    numbers: NumberColumn
    #: the operator whose match ignores ASCII case (``None``: none that every connector has)
    caseless_like: str | None
    #: a clause that selects nothing and that this connector accepts
    nothing: dict[str, object] = attrs.field(factory=lambda: {"or": []})
    #: descending order puts null dates first (PostgreSQL) rather than last
    nulls_first_descending: bool | None = False

    def id_key(self) -> Callable[[str], object] | None:
        """Sort key that orders ids as the server does, or ``None`` when unknown."""
        return _ID_KEYS[self.string_order] if self.string_order is not None else None

    def __str__(self) -> str:
        return f"{self.name} ({self.description})"


MEMORY = Profile(
    name="memory",
    description="LoopBack's memory connector: juggler evaluates the where clause in JavaScript",
    neq_selects_null=True,
    exact_string_equality=True,
    string_order="utf16",
    lists="array",
    objects="nested",
    regexp="javascript",
    date_resolution_ms=1,
    like="juggler",
    numbers="float",
    caseless_like="ilike",
    nulls_first_descending=False,
)

POSTGRESQL = Profile(
    name="postgresql",
    description=(
        "loopback-connector-postgresql on a C/C.UTF-8 collation; lists and objects are JSON text"
    ),
    neq_selects_null=False,
    exact_string_equality=True,
    string_order="codepoint",
    lists="json_text",
    objects="json_text",
    regexp="postgresql",
    date_resolution_ms=1,
    like="sql",
    numbers="int32",
    caseless_like="ilike",
    nothing={"and": [{"id": None}, {"id": {"neq": None}}]},
    nulls_first_descending=True,
)

MYSQL = Profile(
    name="mysql",
    description=(
        "loopback-connector-mysql on MySQL/MariaDB (utf8mb4_general_ci: case-insensitive, "
        "PAD SPACE); lists and objects are JSON text; no regexp; whole-second dates"
    ),
    neq_selects_null=False,
    exact_string_equality=False,
    string_order="case_insensitive",
    lists="json_text",
    objects="json_text",
    regexp=None,
    date_resolution_ms=1000,
    like="sql",
    numbers="int32",
    caseless_like="like",
    nothing={"and": [{"id": None}, {"id": {"neq": None}}]},
    nulls_first_descending=False,
)

#: ``connector=None``: only forms that are exact or a sound superset on every profile above.
UNKNOWN = Profile(
    name="unknown",
    description="any connector: only clauses exact or a sound superset on memory, PostgreSQL "
    "and MySQL",
    neq_selects_null=False,
    exact_string_equality=False,
    string_order=None,
    lists="either",
    objects=None,
    regexp=None,
    date_resolution_ms=1000,
    like="juggler",
    numbers="either",
    caseless_like=None,
    nothing={"and": [{"id": None}, {"id": {"neq": None}}]},
    nulls_first_descending=None,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (MEMORY, POSTGRESQL, MYSQL)}
_ALIASES = {"mariadb": "mysql", "postgres": "postgresql"}


def get_profile(connector: str | Profile | None) -> Profile:
    """The profile for ``connector=`` (a name, a :class:`Profile`, or ``None``: unknown)."""
    if connector is None:
        return UNKNOWN
    if isinstance(connector, Profile):
        return connector
    if not isinstance(connector, str):
        raise ArgumentError(
            f"connector must be a name or a Profile, not {type(connector).__name__}"
        )
    name = _ALIASES.get(connector.lower(), connector.lower())
    if name == "unknown":
        return UNKNOWN
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ArgumentError(f"unknown connector {connector!r}; known: {known}") from None
