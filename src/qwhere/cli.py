"""The ``qwhere`` command: jobs and backends through the filter language, plans, a demo service.

With no ``--url`` (and no ``QWHERE_URL``), commands run against the built-in demo
service, started in-process. Exit codes: 0 success, 1 an API or network error,
2 a bad filter or bad arguments. Heavy modules (requests, the service client) are
imported only by the commands that need them, so ``qwhere explain`` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

if TYPE_CHECKING:
    from .client.service import Provider
    from .models import Backend, Job, Reservation
    from .tree import Expr

__all__ = ["main"]


EXAMPLES = {
    "jobs": """examples:
  qwhere jobs --where "status in [RUNNING, ERROR] and tags all [a, b]"
  qwhere jobs --status ERROR --tag calibration --since "now - 30d" --limit 20
  qwhere jobs --where "backend == ibmq_lima and name ~ /^bell/i" --format json
  qwhere jobs --all --format ndjson > all-jobs.ndjson
  qwhere jobs --url http://host:3000/api --connector postgresql --all --verbose""",
    "backends": """examples:
  qwhere backends --where "n_qubits >= 5 and operational and not simulator"
  qwhere backends --min-qubits 7 --input runtime --format csv""",
    "explain": """examples:
  qwhere explain "status in [RUNNING, ERROR] and tags none [calibration]"
  qwhere explain --connector postgresql "tags all [a, b] and backend == ibmq_lima"
  qwhere explain "n_qubits >= 5 and operational" --schema backends
  qwhere explain "foo.bar ~ /x/i" --schema none
  qwhere explain --format json "status == ERROR and tags any [a]\"""",
    "serve": """examples:
  qwhere serve --port 3000
  qwhere serve --page-cap 7 --latency 20 --fault-rate 0.3 --fault-kinds 5xx,drop
  qwhere serve --port 0 --jobs 5000 --anchor 2025-01-01 --token s3cret""",
}


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse, with a suggestion for a mistyped option (``--stauts``: ``--status``)."""

    def error(self, message: str) -> NoReturn:
        import difflib

        if message.startswith("unrecognized arguments: "):
            words = message.split(": ", 1)[1].split()
            known = [o for a in self._actions for o in a.option_strings if o.startswith("--")]
            hints = []
            for word in words:
                if word.startswith("-"):
                    close = difflib.get_close_matches(word.split("=", 1)[0], known, n=1)
                    if close:
                        hints.append(f"{word}: did you mean {close[0]}?")
            if hints:
                message = f"{message} ({'; '.join(hints)})"
        super().error(message)


# -------------------------------------------------------------------------------------------
# argument parsing


def _parser() -> argparse.ArgumentParser:
    common = _ArgumentParser(add_help=False)
    common.add_argument(
        "--url",
        default=os.environ.get("QWHERE_URL"),
        help="the service's base URL, e.g. http://host:3000/api (env QWHERE_URL); "
        "default: the built-in demo service",
    )
    secret = common.add_mutually_exclusive_group()
    secret.add_argument(
        "--token-file",
        metavar="PATH",
        help="read the access token from PATH (- for standard input); or set QWHERE_TOKEN",
    )
    secret.add_argument(
        "--token",
        help="access token, sent as X-Access-Token; visible to every user of the machine "
        "(ps): prefer QWHERE_TOKEN or --token-file",
    )
    common.add_argument(
        "--connector",
        choices=["memory", "postgresql", "mysql", "unknown"],
        default=os.environ.get("QWHERE_CONNECTOR"),
        help="the database behind the LoopBack server: how it orders ids and which clauses "
        "it runs exactly (env QWHERE_CONNECTOR); default: unknown, safe on every one "
        "(memory for the built-in demo service)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="print on stderr the where clause sent, each request's filter, and what the "
        "listing cost (the token never appears)",
    )
    fmt = _ArgumentParser(add_help=False)
    fmt.add_argument(
        "--format",
        choices=["table", "json", "ndjson", "csv"],
        default="table",
        help="output format (default: table)",
    )

    from . import __version__

    parser = _ArgumentParser(
        prog="qwhere",
        description="Filter jobs and backends of a LoopBack job service with one language.",
        epilog="Run `qwhere COMMAND --help` for a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"qwhere {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_ArgumentParser
    )

    def command(name: str, help_: str, *parents: _ArgumentParser) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_,
            description=help_,
            parents=list(parents),
            epilog=EXAMPLES.get(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    jobs = command("jobs", "List jobs, newest first.", common, fmt)
    jobs.add_argument("--where", help="a filter in the qwhere language")
    jobs.add_argument(
        "--status", action="append", metavar="S", help="a JobStatus (repeatable: any of them)"
    )
    jobs.add_argument("--tag", action="append", metavar="T", help="a tag (repeatable)")
    jobs.add_argument(
        "--tags-operator",
        choices=["AND", "OR"],
        default="OR",
        type=str.upper,
        help="all tags (AND) or any of them (OR, default)",
    )
    jobs.add_argument("--backend", help="backend name")
    jobs.add_argument("--name", help="job name, a regular expression matched anywhere")
    jobs.add_argument(
        "--since",
        metavar="WHEN",
        help="created at or after WHEN: 2024-01-31, 2024-01-31T12:00Z, now - 7d",
    )
    jobs.add_argument(
        "--until", metavar="WHEN", help="created at or before WHEN (a date: all of it)"
    )
    count = jobs.add_mutually_exclusive_group()
    count.add_argument(
        "--limit", type=int, default=10, metavar="N", help="at most N jobs (default 10)"
    )
    count.add_argument("--all", action="store_true", help="every matching job (no limit)")
    jobs.add_argument("--skip", type=int, default=0, help="skip the first N matching jobs")
    jobs.add_argument("--ascending", action="store_true", help="oldest first")

    backends = command("backends", "List backends.", common, fmt)
    backends.add_argument("--where", help="a filter in the qwhere language")
    backends.add_argument("--min-qubits", type=int, metavar="N", help="at least N qubits")
    backends.add_argument(
        "--input",
        action="append",
        choices=["job", "runtime"],
        help="input type the backend must allow (repeatable: all of them)",
    )

    job = command("job", "Show one job.", common, fmt)
    job.add_argument("id", help="the job id")

    command("reservations", "List your upcoming reservations.", common, fmt)

    explain = command("explain", "Show how a filter is split between server and client.")
    explain.add_argument("filter", help="a filter in the qwhere language")
    explain.add_argument(
        "--schema",
        choices=["jobs", "backends", "none"],
        default="jobs",
        help="field names to check the filter against (default: jobs)",
    )
    explain.add_argument(
        "--connector",
        choices=["memory", "postgresql", "mysql", "unknown"],
        default="unknown",
        help="the database behind the LoopBack server (default: unknown, safe on every one)",
    )
    explain.add_argument(
        "--format",
        choices=["text", "json"],
        default="text",
        help="text for people (default) or json for scripts: connector, where, residual, exact",
    )

    serve = command(
        "serve",
        "Run the demo service in the foreground (Ctrl-C stops it); the first line of "
        "standard output is its base URL. `python -m qwhere.testing` is the same command.",
    )
    add_serve_options(serve)
    parser.commands = dict(sub.choices)  # type: ignore[attr-defined]
    return parser


# -------------------------------------------------------------------------------------------
# output


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _width(out: TextIO) -> int | None:
    """The columns a table may use: ``COLUMNS`` if set, else the terminal's; piped, no limit."""
    import shutil

    if os.environ.get("COLUMNS", "").strip().isdigit():
        return max(int(os.environ["COLUMNS"]), 20)
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size().columns
    return None


def _table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    out: TextIO,
    cuts: Sequence[tuple[int, int]] = (),
) -> None:
    """A plain-text table within the terminal's width (no limit when piped).

    ``cuts`` are (column, narrowest) in the order columns give way; columns not named
    are never cut.
    """
    rows = [list(r) for r in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    limit = _width(out)
    if limit is not None:
        for column, narrowest in cuts:
            excess = sum(widths) + 2 * (len(widths) - 1) - limit
            if excess <= 0:
                break
            widths[column] = max(narrowest, widths[column] - excess, len(headers[column]))
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()
    out.write(line + "\n")
    for row in rows:
        cells = [_fit(c, w).ljust(w) for c, w in zip(row, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment is not None else "-"


def _job_row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "status": job.status.name,
        "created": job.creation_date.isoformat() if job.creation_date else None,
        "backend": job.backend_name,
        "name": job.name,
        "tags": list(job.tags),
    }


def _emit(
    fmt: str,
    items: Iterable[Any],
    record: Callable[[Any], dict[str, Any]],
    table: Callable[[Any], Sequence[str]],
    headers: Sequence[str],
    out: TextIO,
    cuts: Sequence[tuple[int, int]] = (),
) -> int:
    count = 0
    if fmt == "ndjson":
        for item in items:
            out.write(json.dumps(record(item), ensure_ascii=False) + "\n")
            count += 1
    elif fmt == "json":
        rows = [record(item) for item in items]
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        count = len(rows)
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(headers), extrasaction="ignore")
        writer.writeheader()
        for item in items:
            row = record(item)
            writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in row.items()})
            count += 1
    else:
        cells = [table(item) for item in items]
        _table(headers, cells, out, cuts)
        count = len(cells)
    return count


class _Progress:
    """Pages and records on stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.records = 0

    def wrap(self, items: Iterable[Any]) -> Iterator[Any]:
        stats = getattr(items, "stats", None)  # a JobIterator counts its pages
        for item in items:
            self.records += 1
            if self.live and self.records % 100 == 0:
                pages = f", {stats.pages} pages" if stats is not None else ""
                self.stream.write(f"\r{self.records} records{pages}…")
                self.stream.flush()
            yield item
        if self.live and self.records >= 100:
            self.stream.write("\r" + " " * 30 + "\r")


# -------------------------------------------------------------------------------------------
# commands


@contextlib.contextmanager
def _log_to(err: TextIO, name: str, level: int) -> Iterator[None]:
    """Logger ``name``'s records from ``level`` up on stderr, while the block runs."""
    import logging

    handler = logging.StreamHandler(err)
    handler.setFormatter(logging.Formatter("qwhere: %(message)s"))
    handler.setLevel(level)
    logger = logging.getLogger(name)
    previous = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > level:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


@contextlib.contextmanager
def _retries_shown(err: TextIO) -> Iterator[None]:
    """On a terminal, each retry (what failed, which retry, how long until it) on stderr."""
    if not err.isatty():
        yield
        return
    import logging

    with _log_to(err, "qwhere.transport", logging.INFO):
        yield


@contextlib.contextmanager
def _verbose(args: argparse.Namespace, err: TextIO) -> Iterator[None]:
    """With ``--verbose``, the client's DEBUG log (each request and its filter) on stderr."""
    if not getattr(args, "verbose", False):
        with _retries_shown(err):
            yield
        return
    import logging

    with _log_to(err, "qwhere.client", logging.DEBUG):
        yield


@contextlib.contextmanager
def _provider(args: argparse.Namespace, err: TextIO) -> Iterator[Provider]:
    from .client.service import connect

    token = _token(args, err)
    connector = None if args.connector in (None, "unknown") else args.connector
    if args.url:
        provider = connect(args.url, token, connector=connector)
        try:
            with _verbose(args, err):
                yield provider
        finally:
            provider.close()
        return
    from .testing import serve

    err.write("qwhere: no --url or QWHERE_URL given; using the built-in demo service\n")
    with serve() as url:
        # the demo service orders and selects like LoopBack's memory connector
        provider = connect(url, token, connector=args.connector or "memory")
        try:
            with _verbose(args, err):
                yield provider
        finally:
            provider.close()


def _token(args: argparse.Namespace, err: TextIO) -> str | None:
    """The token: from --token-file, QWHERE_TOKEN or (shown in ps: warned) --token."""
    if args.token_file is not None:
        try:
            if args.token_file == "-":
                text = sys.stdin.read()
            else:
                with open(args.token_file, encoding="utf-8") as f:
                    text = f.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the token file: {exc}") from None
        token = text.strip()
        if not token:
            raise UsageError("the token file is empty")
        return token
    if args.token is not None:
        err.write(
            "qwhere: warning: --token is visible to other users (ps); "
            "use QWHERE_TOKEN or --token-file\n"
        )
        return str(args.token)
    return os.environ.get("QWHERE_TOKEN") or None


def _time(text: str, option: str) -> Any:
    """A date, time or relative time for ``option``: a value, never filter text."""
    from .errors import ArgumentError
    from .times import when

    try:
        return when(text)
    except ArgumentError as exc:
        raise UsageError(f"{option}: {exc}") from None


def _tags_first(tags: Sequence[str], wanted: set[str]) -> str:
    """The tags, those the filter names first (so a narrow column still shows them)."""
    ordered = [t for t in tags if t in wanted] + [t for t in tags if t not in wanted]
    return ",".join(ordered) or "-"


def _named_tags(expr: Expr | None, extra: Iterable[str]) -> set[str]:
    from .tree import Quantified

    named = set(extra)
    stack: list[Any] = [expr] if expr is not None else []
    while stack:
        node = stack.pop()
        if isinstance(node, Quantified) and node.field == ("tags",):
            named.update(v for v in node.values if isinstance(v, str))
        stack.extend(getattr(node, "operands", ()) or ())
        inner = getattr(node, "operand", None)
        if inner is not None:
            stack.append(inner)
    return named


def _jobs(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .builder import Q
    from .parser import parse
    from .schemas import JOBS
    from .tree import all_of

    parts: list[Expr] = []
    if args.where:
        parts.append(parse(args.where, JOBS))
    if args.since:
        parts.append(Q.created >= _time(args.since, "--since"))
    if args.until:
        parts.append(Q.created <= _time(args.until, "--until"))
    if args.limit < 0 or args.skip < 0:
        raise UsageError("--limit and --skip must not be negative")
    if args.limit == 0 and not args.all:
        raise UsageError("--limit 0 would list nothing; --all lists every matching job")
    where = all_of(*parts) if parts else None
    limit = None if args.all else args.limit
    with _provider(args, err) as provider:
        progress = _Progress(err)
        jobs = provider.iter_jobs(
            limit=None if limit is None else limit + 1,  # one more: are there more?
            skip=args.skip,
            status=args.status,
            job_tags=args.tag,
            job_tags_operator=args.tags_operator,
            backend_name=args.backend,
            job_name=args.name,
            descending=not args.ascending,
            where=where,
        )
        if args.verbose:
            sent = json.dumps(dict(jobs.where), ensure_ascii=False)
            exact = "" if jobs.exact else " (and a client-side residual)"
            err.write(f"qwhere: connector {jobs.connector}; where {sent}{exact}\n")
        more = [False]

        def shown(items: Iterable[Job]) -> Iterator[Job]:
            for index, item in enumerate(items):
                if limit is not None and index >= limit:
                    more[0] = True
                    return
                yield item

        wanted = _named_tags(where, args.tag or ())
        count = _emit(
            args.format,
            shown(progress.wrap(jobs)),
            _job_row,
            lambda j: [
                j.id,
                j.status.name,
                _when(j.creation_date),
                _tags_first(j.tags, wanted),
                j.backend_name or "-",
                j.name or "-",
            ],
            ["id", "status", "created", "tags", "backend", "name"],
            out,
            # the tags give way first (those the filter names shown first), then the id (a
            # short id), then the backend and the name, down to a few characters each
            cuts=[
                (3, 8),
                (0, 8),
                (3, 6),
                (4, 14),
                (5, 14),
                (4, 10),
                (3, 4),
                (5, 8),
                (0, 6),
                (4, 6),
                (5, 6),
            ],
        )
    if args.verbose:
        stats = jobs.stats
        how = f", concurrent ({stats.segments} date ranges)" if stats.concurrent else ""
        err.write(
            f"qwhere: {stats.requests} requests ({stats.pages} pages, {stats.probes} probes), "
            f"{stats.records_received} records received, {count} listed{how}\n"
        )
    if args.format == "table" or err.isatty():
        noun = f"{count} job{'s' if count != 1 else ''}"
        if more[0]:
            err.write(f"qwhere: {noun} listed; more match (--limit N for more, --all for all)\n")
        else:
            err.write(f"qwhere: {noun} matched\n")
    return 0


def _backend_row(b: Backend) -> dict[str, Any]:
    config, status = b.configuration(), b.status()
    return {
        "name": b.name,
        "n_qubits": config.get("n_qubits"),
        "simulator": config.get("simulator"),
        "operational": status.get("operational"),
        "pending_jobs": status.get("pending_jobs"),
        "quantum_volume": config.get("quantum_volume"),
        "input_allowed": list(config.get("input_allowed") or []),
        "status_msg": status.get("status_msg"),
    }


def _backends(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _provider(args, err) as provider:
        found = provider.backends(
            where=args.where, min_num_qubits=args.min_qubits, input_allowed=args.input
        )
        _emit(
            args.format,
            found,
            _backend_row,
            lambda b: [
                str(v) if v is not None else "-"
                for k, v in _backend_row(b).items()
                if k in ("name", "n_qubits", "simulator", "operational", "pending_jobs")
            ],
            ["name", "n_qubits", "simulator", "operational", "pending_jobs"],
            out,
        )
    return 0


def _job(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _provider(args, err) as provider:
        job = provider.retrieve_job(args.id)
    if args.format == "table":
        for key, value in _job_row(job).items():
            shown = ", ".join(value) if isinstance(value, list) else value
            out.write(f"{key:>8}: {shown if shown not in (None, '') else '-'}\n")
    else:
        _emit(args.format, [job], _job_row, lambda j: [], list(_job_row(job)), out)
    return 0


def _reservation_row(r: Reservation) -> dict[str, Any]:
    return {
        "id": r.reservation_id,
        "backend": r.backend_name,
        "start": r.start_datetime.isoformat(),
        "end": r.end_datetime.isoformat(),
        "mode": r.mode,
    }


def _reservations(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    with _provider(args, err) as provider:
        found = provider.my_reservations()
    _emit(
        args.format,
        found,
        _reservation_row,
        lambda r: [
            r.reservation_id,
            r.backend_name or "-",
            _when(r.start_datetime),
            _when(r.end_datetime),
            r.mode or "-",
        ],
        ["id", "backend", "start", "end", "mode"],
        out,
    )
    return 0


def _explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from .planner import explain

    schema = None
    if args.schema != "none":
        from . import schemas

        schema = schemas.JOBS if args.schema == "jobs" else schemas.BACKENDS
    if args.format == "json":
        from .planner import plan

        made = plan(args.filter, schema, connector=args.connector)
        document = {
            "connector": made.profile.name,
            "where": made.where,
            "residual": str(made.residual) if made.residual is not None else None,
            "exact": made.exact,
            "parts": [
                {"text": p.text, "where": p.where, "exact": p.exact, "reason": p.reason}
                for p in made.parts
            ],
        }
        out.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        return 0
    out.write(explain(args.filter, schema, connector=args.connector) + "\n")
    return 0


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """The demo service's options: one set for ``qwhere serve`` and ``python -m qwhere.testing``."""
    serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="port (default 3000; 0: any)")
    serve.add_argument("--jobs", type=int, default=2000, metavar="N", help="dated jobs (2000)")
    serve.add_argument("--seed", type=int, default=0, help="the data and the faults (0)")
    serve.add_argument(
        "--anchor",
        metavar="WHEN",
        help="the instant the jobs end at (default: now); a fixed one gives the same data",
    )
    serve.add_argument("--page-cap", type=int, metavar="N", help="answer at most N records")
    serve.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="milliseconds added to every request",
    )
    serve.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        metavar="P",
        help="fraction 0..1 of requests that fail (5xx, 429, drops, cut bodies)",
    )
    serve.add_argument(
        "--fault-kinds",
        default="5xx,429,drop,truncate",
        metavar="K,K",
        help="which faults (default 5xx,429,drop,truncate)",
    )
    serve.add_argument("--token", help="require this X-Access-Token (env QWHERE_TOKEN also works)")
    serve.add_argument(
        "--order",
        choices=["memory", "postgresql", "mysql"],
        default="memory",
        help="order ids and nulls as this LoopBack connector does (default memory)",
    )
    serve.add_argument(
        "--until-stdin-closes",
        action="store_true",
        help="stop when standard input closes (for scripts), not only on Ctrl-C",
    )


def _serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import time
    from datetime import UTC, date
    from datetime import datetime as moment

    from .testing import FAULT_KINDS, serve
    from .values import resolve

    if not 0 <= args.fault_rate <= 1:
        raise UsageError("--fault-rate must be between 0 and 1")
    if args.jobs < 0:
        raise UsageError("--jobs must not be negative")
    kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
    unknown = [k for k in kinds if k not in FAULT_KINDS]
    if unknown:
        raise UsageError(f"unknown --fault-kinds {unknown}; known: {', '.join(FAULT_KINDS)}")
    options: dict[str, Any] = {
        "jobs": args.jobs,
        "seed": args.seed,
        "latency": args.latency / 1000.0,
        "faults": args.fault_rate,
        "fault_kinds": kinds,
        "token": args.token or os.environ.get("QWHERE_TOKEN") or None,
        "order": args.order,
    }
    if args.page_cap is not None:
        if args.page_cap < 1:
            raise UsageError("--page-cap must be at least 1")
        options["page_cap"] = args.page_cap
    if args.anchor is not None:
        value = resolve(_time(args.anchor, "--anchor"))
        if isinstance(value, moment):
            options["anchor"] = value if value.tzinfo else value.astimezone()
        elif isinstance(value, date):
            options["anchor"] = moment(value.year, value.month, value.day, tzinfo=UTC)
    with serve(host=args.host, port=args.port, **options) as url:
        out.write(f"{url}\n")
        out.flush()
        err.write(
            f"qwhere: serving the demo service ({args.jobs} jobs) at {url}; "
            + (
                "it stops when standard input closes\n"
                if args.until_stdin_closes
                else "Ctrl-C stops it\n"
            )
        )
        err.flush()
        with contextlib.suppress(KeyboardInterrupt):
            if args.until_stdin_closes:
                sys.stdin.read()
            else:
                while True:
                    time.sleep(3600)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO, TextIO], int]] = {
    "jobs": _jobs,
    "backends": _backends,
    "job": _job,
    "reservations": _reservations,
    "explain": _explain,
    "serve": _serve,
}


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Run the command line; returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra:  # the command's own usage, and a suggestion
            commands: dict[str, argparse.ArgumentParser] = parser.commands  # type: ignore[attr-defined]
            commands[args.command].error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # argparse has printed the usage
        return int(exc.code or 0)
    from .errors import ArgumentError, FilterError, QwhereError, UnsupportedWhereError

    try:
        return COMMANDS[args.command](args, out, err)
    except (FilterError, UnsupportedWhereError, ArgumentError, UsageError) as exc:
        err.write(f"qwhere: {exc}\n")
        return 2
    except QwhereError as exc:
        err.write(f"qwhere: {_one_line(str(exc))}{_hint(exc, args)}\n")
        return 1
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            return 0
        err.write(f"qwhere: {_one_line(str(exc))}\n")
        return 1
    except KeyboardInterrupt:
        err.write("qwhere: interrupted\n")
        return 130


def _hint(exc: Exception, args: argparse.Namespace) -> str:
    """What a person can do about an API error: the token's spellings, a missing /api."""
    from .errors import ApiError, AuthenticationError

    status = getattr(exc, "status", None)
    if isinstance(exc, AuthenticationError) and status == 401:
        have = (
            "the token was refused"
            if (args.token or args.token_file or os.environ.get("QWHERE_TOKEN"))
            else "no token was given"
        )
        return f" ({have}: pass --token-file PATH or set QWHERE_TOKEN)"
    url = getattr(args, "url", None) or ""
    if isinstance(exc, ApiError) and status == 404 and url:
        from urllib.parse import urlsplit

        if not urlsplit(url).path.rstrip("/").endswith("/api"):
            return f" (LoopBack serves its REST API under /api: try --url {url.rstrip('/')}/api)"
    return ""


def _one_line(text: str) -> str:
    first = text.strip().splitlines()[0] if text.strip() else "error"
    return first if len(first) <= 300 else first[:297] + "..."


def entry_point() -> None:  # pragma: no cover - the console script
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry_point()
