"""Pytest fixtures for the LoopBack conformance engine."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest

from .engine import EngineError, LoopBackEngine


def _unavailable(reason: str) -> NoReturn:
    message = (
        "LOOPBACK CONFORMANCE ENGINE UNAVAILABLE: "
        f"{reason}\n"
        "These tests compare qwhere with loopback-datasource-juggler and need node + npm "
        "(tests/conformance runs `npm ci` on first use)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message + "\nCI=true: a skipped conformance suite counts as a failure.")
    pytest.skip(message)


@pytest.fixture(scope="session")
def engine() -> Iterator[LoopBackEngine]:
    """One running LoopBack bridge shared by the whole test session."""
    try:
        eng = LoopBackEngine()
        smoke = eng.select({"id": {"type": "string", "id": True}}, [{"id": "x"}], {})
    except (EngineError, OSError) as exc:
        _unavailable(str(exc))
    if smoke.ids != ["x"]:
        eng.close()
        _unavailable(f"bridge smoke test returned {smoke!r}")
    try:
        yield eng
    finally:
        eng.close()
