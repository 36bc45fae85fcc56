"""Test-wide settings: hypothesis profiles.

The conformance properties take their example count from the profile:
``pytest --hypothesis-profile=thorough`` runs ten times as many as CI does.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=2500, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("thorough", max_examples=25000, **_COMMON)  # type: ignore[arg-type]
settings.load_profile("default")
