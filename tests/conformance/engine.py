"""Python side of the LoopBack conformance bridge.

``LoopBackEngine`` keeps one ``node bridge.js`` process alive and sends it
queries over newline-delimited JSON.  The bridge runs each query through
loopback-datasource-juggler (memory connector), which makes it the ground
truth for what a LoopBack server selects for a given ``where`` clause.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import selectors
import shutil
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeAlias

HERE: Final = Path(__file__).resolve().parent
BRIDGE_JS: Final = HERE / "bridge.js"
JUGGLER_DIR: Final = HERE / "node_modules" / "loopback-datasource-juggler"

#: JSON object as sent to the bridge (LoopBack properties, records, where).
JsonObject: TypeAlias = Mapping[str, Any]
#: LoopBack ``order``: ``"name DESC"``, ``"a ASC, b DESC"`` or a list of those.
Order: TypeAlias = str | Sequence[str]


class EngineError(RuntimeError):
    """The bridge could not be started, crashed, hung or broke the protocol."""


class RecordsRejectedError(EngineError):
    """juggler refused to store the records (e.g. a duplicate id).

    That is a problem with the test data, not an answer to the query, so it
    is raised rather than returned.  The bridge stays usable.
    """

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(f"LoopBack rejected the records: {message}")
        self.status = status


@dataclass(frozen=True)
class EngineResult:
    """Outcome of one query.

    Exactly one of ``ids`` / ``count`` / ``error`` is set.  ``ids`` is in the
    order LoopBack returned the records.  ``status`` is the HTTP status the
    error carries (``err.statusCode``), or ``None`` for errors without one
    (e.g. a ``TypeError`` thrown inside juggler, which a server turns into a
    500).  ``warnings`` holds whatever juggler printed during the query.
    """

    ids: list[str] | None
    error: str | None = None
    status: int | None = None
    warnings: list[str] = field(default_factory=list)
    error_name: str | None = None
    count: int | None = None


def ensure_node_modules(timeout: float = 300.0) -> None:
    """Run ``npm ci`` in this directory unless juggler is already installed.

    Raises ``EngineError`` when node/npm is missing or the install fails.
    """
    if JUGGLER_DIR.is_dir():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise EngineError("node and npm are required for the LoopBack conformance tests")
    try:
        proc = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"`npm ci` in {HERE} timed out after {timeout:.0f}s") from exc
    if proc.returncode != 0 or not JUGGLER_DIR.is_dir():
        raise EngineError(
            f"`npm ci` in {HERE} failed (exit {proc.returncode}):\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )


class LoopBackEngine:
    """A running ``node bridge.js``; create once, call ``select`` many times.

    Calls are synchronous and must not be made from several threads at once.
    If the bridge dies or hangs, the call raises ``EngineError`` (with the
    bridge's stderr) and the next call starts a fresh bridge.
    """

    def __init__(self, *, timeout: float = 30.0, install: bool = True) -> None:
        self._timeout = timeout
        if install:
            ensure_node_modules()
        node = shutil.which("node")
        if node is None:
            raise EngineError("`node` was not found on PATH")
        self._node: str = node
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = bytearray()
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=200)
        self._stderr_thread: threading.Thread | None = None
        self._next_id = 0
        self._start()

    # -- public API ---------------------------------------------------------

    def select(
        self,
        properties: JsonObject,
        records: Sequence[JsonObject],
        where: JsonObject | None,
        order: Order | None = None,
    ) -> EngineResult:
        """Ids of ``records`` that ``Model.find({where, order})`` returns."""
        request: dict[str, Any] = {"properties": properties, "records": records}
        if where is not None:
            request["where"] = where
        if order is not None:
            request["order"] = order if isinstance(order, str) else list(order)
        return self._call(request)

    def find(
        self,
        properties: JsonObject,
        records: Sequence[JsonObject],
        filter: Any,
        *,
        revive: bool = False,
    ) -> EngineResult:
        """``Model.find(filter)`` with any JSON ``filter`` (limit, skip, ...).

        With ``revive=True``, ``{"$regexp": {"source": s, "flags": f}}`` and
        ``{"$date": iso}`` inside ``filter`` become a JS RegExp / Date, for
        queries that cannot be expressed in plain JSON.
        """
        request: dict[str, Any] = {"properties": properties, "records": records, "filter": filter}
        if revive:
            request["revive"] = True
        return self._call(request)

    def count(
        self, properties: JsonObject, records: Sequence[JsonObject], where: JsonObject | None
    ) -> EngineResult:
        """``Model.count(where)``; the answer is in ``EngineResult.count``."""
        return self._call({"properties": properties, "records": records, "count_where": where})

    def regex(
        self, patterns: Sequence[tuple[str, str]], strings: Sequence[str]
    ) -> list[set[int] | str]:
        """For each ``(source, flags)``: the indexes of the ``strings`` that
        ``new RegExp(source, flags).test`` accepts, or the SyntaxError's message.

        The memory connector runs a ``regexp`` condition with exactly this RegExp
        (``String.prototype.match``); this asks V8 directly, without models or records,
        so that thousands of patterns and strings cost milliseconds.
        """
        response = self._raw({"regex": [list(p) for p in patterns], "strings": list(strings)})
        out: list[set[int] | str] = []
        for item in response["matches"]:
            out.append(str(item["error"]) if isinstance(item, dict) else set(item))
        return out

    def close(self) -> None:
        """Stop the bridge process."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> LoopBackEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- process management -------------------------------------------------

    def _start(self) -> None:
        env = dict(os.environ)
        env["TZ"] = "UTC"  # the recorded probes were observed in UTC
        env.pop("NODE_OPTIONS", None)
        self._buffer.clear()
        self._stderr_tail.clear()
        proc = subprocess.Popen(
            [self._node, str(BRIDGE_JS)],
            cwd=HERE,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            bufsize=0,
        )
        self._proc = proc
        self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(proc,), daemon=True)
        self._stderr_thread.start()

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        with proc.stderr:
            for line in proc.stderr:
                self._stderr_tail.append(line.decode("utf-8", "replace").rstrip("\n"))

    def _fail(self, reason: str) -> EngineError:
        """Kill the bridge and build an error carrying its stderr."""
        proc, self._proc = self._proc, None
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                proc.kill()
            code = proc.wait()
            if proc.stdin is not None:
                with contextlib.suppress(OSError):
                    proc.stdin.close()
            if proc.stdout is not None:
                proc.stdout.close()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=2)  # collect the last lines
        stderr = "\n".join(self._stderr_tail) or "(empty)"
        return EngineError(f"LoopBack bridge {reason} (exit code {code}); stderr:\n{stderr}")

    # -- protocol -----------------------------------------------------------

    def _call(self, request: dict[str, Any]) -> EngineResult:
        return _to_result(self._raw(request))

    def _raw(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._proc is None or self._proc.poll() is not None:
            if self._proc is not None:
                raise self._fail("died between calls")
            self._start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        self._next_id += 1
        request_id = self._next_id
        line = json.dumps({"id": request_id, **request}, allow_nan=False) + "\n"
        try:
            proc.stdin.write(line.encode("utf-8"))
        except (BrokenPipeError, OSError) as exc:
            raise self._fail(f"died (write failed: {exc})") from exc
        response = self._read_response()
        if response.get("id") != request_id:
            raise self._fail(f"answered id {response.get('id')!r} to request {request_id}")
        if request.get("regex") is not None and "matches" not in response:
            _to_result(response)  # raises for a bad request
            raise self._fail(f"answered a regex request with {response!r}")
        return response

    def _read_response(self) -> dict[str, Any]:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        fd = proc.stdout.fileno()
        deadline = time.monotonic() + self._timeout
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while (newline := self._buffer.find(b"\n")) < 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not sel.select(remaining):
                    raise self._fail(f"did not answer within {self._timeout:.0f}s")
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise self._fail("died")
                self._buffer += chunk
        raw = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        try:
            decoded: object = json.loads(raw)
        except ValueError as exc:
            raise self._fail(f"wrote a non-JSON line: {raw[:500]!r}") from exc
        if not isinstance(decoded, dict):
            raise self._fail(f"wrote a non-object line: {raw[:500]!r}")
        return decoded


def _to_result(response: Mapping[str, Any]) -> EngineResult:
    warnings = [str(w) for w in response.get("warnings", [])]
    error = response.get("error")
    if isinstance(error, Mapping):
        status = error.get("status")
        status = status if isinstance(status, int) else None
        name = error.get("name")
        phase = error.get("phase")
        if phase == "load":
            raise RecordsRejectedError(str(error.get("message")), status)
        if phase == "request":
            raise EngineError(f"bad request to the LoopBack bridge: {error.get('message')}")
        return EngineResult(
            ids=None,
            error=str(error.get("message")),
            status=status,
            warnings=warnings,
            error_name=name if isinstance(name, str) else None,
        )
    if "count" in response:
        return EngineResult(ids=None, count=int(response["count"]), warnings=warnings)
    return EngineResult(ids=[str(i) for i in response["ids"]], warnings=warnings)
