"""The LoopBack target: a tree becomes a ``where`` clause, per connector profile.

``generator`` holds one method per node; ``profiles`` says, per connector, which
clause forms are exact, which are a sound superset and which must stay on the client.
"""

from __future__ import annotations

from .generator import (
    LoopBackGenerator,
    LoopBackTarget,
    Pushed,
    conjunction,
    field_key,
    json_value,
)
from .profiles import (
    MEMORY,
    MYSQL,
    POSTGRESQL,
    PROFILES,
    UNKNOWN,
    Profile,
    get_profile,
)

__all__ = [
    "MEMORY",
    "MYSQL",
    "POSTGRESQL",
    "PROFILES",
    "UNKNOWN",
    "LoopBackGenerator",
    "LoopBackTarget",
    "Profile",
    "Pushed",
    "conjunction",
    "field_key",
    "get_profile",
    "json_value",
]
