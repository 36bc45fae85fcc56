"""Test-wide settings: hypothesis profiles, and fixtures for real LoopBack servers.

The conformance properties take their example count from the profile:
``pytest --hypothesis-profile=thorough`` runs ten times as many as CI does.

The real-server fixtures (tests/lb3) start PostgreSQL, MariaDB and LoopBack 3
REST apps only when a test asks for them, once per session, and stop them all
at the end of the session:

* ``postgres_server``, ``mariadb_server``: the running databases
  (``lb3.servers.PostgresServer`` / ``MariaDBServer``);
* ``lb3_apps``: a factory, ``lb3_apps("mysql", page_cap=3) -> LoopBackApp``;
* ``lb3_app``: a ``LoopBackApp`` per connector; a test that asks for it runs
  three times (``[memory]``, ``[postgresql]``, ``[mysql]``).  Narrow it with
  ``@pytest.mark.parametrize("lb3_app", ["postgresql"], indirect=True)``.

A server that cannot start skips the test with a loud reason; under
``CI=true`` it fails it instead (the policy of tests/conformance).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import NoReturn

import pytest
from hypothesis import HealthCheck, Phase, settings
from lb3.lab import Lab, LoopBackApps
from lb3.servers import (
    CONNECTORS,
    Connector,
    LoopBackApp,
    MariaDBServer,
    PostgresServer,
    ServerUnavailable,
)
from skip_policy import pytest_runtest_makereport  # noqa: F401 - CI=true: skips must be allowed

_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("default", max_examples=2500, **_COMMON)  # type: ignore[arg-type]
settings.register_profile("thorough", max_examples=25000, **_COMMON)  # type: ignore[arg-type]
# benchmarks/mutation.py: as many examples, no shrinking (a failure is all it needs)
settings.register_profile(
    "mutation",
    max_examples=2500,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    **_COMMON,  # type: ignore[arg-type]
)
settings.load_profile("default")


# -- real LoopBack servers (tests/lb3) -----------------------------------------


def _lb3_unavailable(what: str, reason: str) -> NoReturn:
    message = (
        f"REAL SERVER UNAVAILABLE ({what}): {reason}\n"
        "These tests run a LoopBack 3 app (node + npm; tests/lb3 runs `npm ci` on first use) "
        "on the memory connector, PostgreSQL 15 (/usr/lib/postgresql/15/bin) and MariaDB "
        "(mariadbd); .ci/run installs them."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message + "\nCI=true: a skipped real-server test counts as a failure.")
    pytest.skip(message)


@pytest.fixture(scope="session")
def lb3_lab() -> Iterator[Lab]:
    """Every real server of the session; all are stopped when it ends."""
    lab = Lab()
    try:
        yield lab
    finally:
        lab.close()


@pytest.fixture(scope="session")
def postgres_server(lb3_lab: Lab) -> PostgresServer:
    """A PostgreSQL 15 server (C.UTF-8, UTF8) with an empty database ``qwhere``."""
    try:
        return lb3_lab.postgres()
    except ServerUnavailable as exc:
        _lb3_unavailable("PostgreSQL", exc.reason)


@pytest.fixture(scope="session")
def mariadb_server(lb3_lab: Lab) -> MariaDBServer:
    """A MariaDB server with an empty utf8mb4 database ``qwhere``."""
    try:
        return lb3_lab.mariadb()
    except ServerUnavailable as exc:
        _lb3_unavailable("MariaDB", exc.reason)


@pytest.fixture(scope="session")
def lb3_apps(lb3_lab: Lab) -> LoopBackApps:
    """Factory: ``lb3_apps("postgresql")``, ``lb3_apps("memory", page_cap=50)``."""

    def get(connector: Connector, *, page_cap: int | None = None) -> LoopBackApp:
        try:
            return lb3_lab.app(connector, page_cap=page_cap)
        except ServerUnavailable as exc:
            _lb3_unavailable(f"LoopBack 3 app on {connector}", exc.reason)

    return get


@pytest.fixture(params=CONNECTORS)
def lb3_app(request: pytest.FixtureRequest, lb3_apps: LoopBackApps) -> Iterator[LoopBackApp]:
    """The session's uncapped LoopBack 3 app for each connector in turn.

    A page cap a test sets (``app.set_page_cap``) is reset after it.
    """
    app = lb3_apps(request.param)
    try:
        yield app
    finally:
        if app.alive():
            app.set_page_cap(None)
