"""One test session's servers, started on first use and stopped together.

``Lab`` is what the pytest fixtures in tests/conftest.py hand out; it has no
pytest in it, so a script can use it too::

    with Lab() as lab:
        app = lab.app("postgresql")
        app.define("Probe", {"id": {"type": "string", "id": True}, "n": {"type": "number"}})
        app.load("Probe", [{"id": "a", "n": 1}])
        print(app.find("Probes", where={"n": 1}))

A server that failed to start is not tried again: the same ``ServerUnavailable``
is raised for every later request, so one broken database costs one start-up.
"""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

from .servers import (
    CONNECTORS,
    Connector,
    LoopBackApp,
    MariaDBServer,
    PostgresServer,
    ServerUnavailable,
)

__all__ = ["Lab", "LoopBackApps"]


class LoopBackApps(Protocol):
    """The ``lb3_apps`` fixture: ``lb3_apps(connector, page_cap=None) -> LoopBackApp``."""

    def __call__(self, connector: Connector, *, page_cap: int | None = None) -> LoopBackApp: ...


class Lab:
    """Lazily started PostgreSQL, MariaDB and LoopBack apps, one of each kind.

    ``app(connector, page_cap=None)`` gives one app per (connector, cap).  The
    SQL apps of one connector share its database: a model defined on one app
    must be defined on another with ``migrate=False`` to be seen there without
    dropping its table (memory apps share nothing).
    """

    def __init__(self) -> None:
        self._postgres: PostgresServer | None = None
        self._mariadb: MariaDBServer | None = None
        self._apps: dict[tuple[Connector, int | None], LoopBackApp] = {}
        self._failures: dict[str, ServerUnavailable] = {}

    def _failed(self, key: str) -> None:
        failure = self._failures.get(key)
        if failure is not None:
            raise ServerUnavailable(f"(failed earlier in this session) {failure.reason}")

    def postgres(self) -> PostgresServer:
        """The session's PostgreSQL 15 server (started on first call)."""
        if self._postgres is None:
            self._failed("postgres")
            try:
                self._postgres = PostgresServer()
            except ServerUnavailable as exc:
                self._failures["postgres"] = exc
                raise
        return self._postgres

    def mariadb(self) -> MariaDBServer:
        """The session's MariaDB server (started on first call)."""
        if self._mariadb is None:
            self._failed("mariadb")
            try:
                self._mariadb = MariaDBServer()
            except ServerUnavailable as exc:
                self._failures["mariadb"] = exc
                raise
        return self._mariadb

    def app(self, connector: Connector, *, page_cap: int | None = None) -> LoopBackApp:
        """The running app for ``connector`` (and ``page_cap``), started on first call.

        An app that died since is restarted (its models must be defined again).
        """
        if connector not in CONNECTORS:
            raise ValueError(f"connector must be one of {CONNECTORS}, not {connector!r}")
        key = (connector, page_cap)
        app = self._apps.get(key)
        if app is not None and app.alive():
            return app
        if app is not None:
            app.stop()
            del self._apps[key]
        name = f"app:{connector}:{page_cap}"
        self._failed(name)
        try:
            if connector == "postgresql":
                database = self.postgres().settings
            elif connector == "mysql":
                database = self.mariadb().settings
            else:
                database = None
            app = LoopBackApp(connector, database, page_cap=page_cap)
        except ServerUnavailable as exc:
            self._failures.setdefault(name, exc)
            raise
        self._apps[key] = app
        return app

    def close(self) -> None:
        """Stop every app, then the databases (each stop is attempted even if one fails)."""
        errors: list[BaseException] = []
        for app in self._apps.values():
            try:
                app.stop()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        self._apps.clear()
        for server in (self._postgres, self._mariadb):
            if server is None:
                continue
            try:
                server.stop()
            except Exception as exc:
                errors.append(exc)
        self._postgres = self._mariadb = None
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
