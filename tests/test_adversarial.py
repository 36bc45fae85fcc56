"""What a hostile filter, server or redirect can do: each attack, and the safe answer (issue 11).

Servers here are real ``http.server`` instances bound to 127.0.0.1 in threads, bounded in
time and stopped at the end of each test.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from strategies import conditions, trees_of

from qwhere import (
    TRUE,
    ApiError,
    ArgumentError,
    Compare,
    ConnectionFailed,
    DeadlineExceeded,
    Expr,
    FilterError,
    FilterSyntaxError,
    FilterValueError,
    Not,
    Or,
    ProtocolError,
    Q,
    QwhereError,
    RedirectError,
    RelativeTime,
    RequestTimeout,
    ResponseTooLarge,
    UnsupportedWhereError,
    connect,
    from_where,
    parse,
    plan,
    predicate,
    schemas,
)
from qwhere.parser import MAX_TEXT_LENGTH
from qwhere.transport import parse_retry_after, secret_forms
from qwhere.tree import MAX_DEPTH, STAGE_DEPTH, derived
from qwhere.where import MAX_WHERE_DEPTH

# -- 1. filter text never calls what a record did not declare readable ------------------------

CALLS: list[str] = []


def trip(*_args: object) -> str:
    """What a hostile path would like to call."""
    CALLS.append("trip")
    return "called"


@pytest.fixture(autouse=True)
def _no_calls() -> Any:
    CALLS.clear()
    yield
    assert CALLS == [], f"a filter called {CALLS}"


@dataclass
class Rec:
    name: str = "x"
    n: int = 3
    tags: list[str] = field(default_factory=lambda: ["a"])
    hook: Any = trip  # an instance attribute holding a function

    def boom(self) -> str:
        CALLS.append("boom")
        return "x"

    @staticmethod
    def static() -> str:
        CALLS.append("static")
        return "x"

    @classmethod
    def klass(cls) -> str:
        CALLS.append("klass")
        return "x"


HOSTILE_PATHS = [
    "__class__.__dict__.__init__.__globals__.trip",
    "__class__.__init__.__globals__.os.abort",
    "__init__.__globals__.trip",
    "__dict__",
    "__class__",
    "_private",
    "boom",
    "static",
    "klass",
    "hook",
    "name.upper",
    "name.__class__",
    "tags.clear",
    "tags.pop",
    "n.bit_length",
    "n.real",
]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_attribute_paths_read_as_missing(path: str) -> None:
    rec = Rec()
    rec.__dict__["_private"] = "secret"
    for text in (f'"{path}" exists', f'"{path}" == x', f'"{path}"', f'"{path}" != x'):
        keep = predicate(text)
        verdict = keep(rec)
        # missing: only the negative forms hold
        assert verdict is text.endswith("!= x"), (text, verdict)
    assert rec.tags == ["a"]


def test_the_os_abort_path_does_not_kill_the_process() -> None:
    script = textwrap.dedent(
        """
        import dataclasses
        from qwhere import predicate

        @dataclasses.dataclass
        class Rec:
            name: str = "x"

        rec = Rec()
        for text in ("__class__.__dict__.__init__.__globals__.os.abort exists",
                     "__class__.__init__.__globals__.os.abort exists"):
            assert predicate(text)(rec) is False
        print("alive")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "alive"


def test_methods_of_builtin_records_are_never_called() -> None:
    items = [1, 2, 3]
    assert predicate("clear")(items) is False
    assert predicate("pop exists")(items) is False
    assert predicate("sort")(items) is False
    assert items == [1, 2, 3]
    counts = {"a": 1}
    assert predicate("clear")(counts) is False  # a mapping is read by key
    assert counts == {"a": 1}
    assert predicate("upper exists")("text") is False


def test_getattr_proxies_are_not_asked() -> None:
    class Proxy:
        def __getattr__(self, name: str) -> str:
            CALLS.append(f"__getattr__({name})")
            return "x"

    assert predicate("name == x")(Proxy()) is False
    assert predicate("a.b == x")({"a": Proxy()}) is False


def test_modules_and_classes_have_no_fields() -> None:
    class Holder:
        def __init__(self) -> None:
            self.mod = os
            self.cls = Rec

    holder = Holder()
    assert predicate("mod.environ exists")(holder) is False
    assert predicate("mod.sep exists")(holder) is False
    assert predicate("cls exists")(holder) is False  # a class is callable: missing
    assert predicate("sep exists")(os) is False
    assert predicate("n exists")(Rec) is False


def test_data_is_read_at_every_level() -> None:
    """Instance and dataclass fields, attrs slots, properties, cached properties, class data."""

    @attrs.define
    class Status:
        operational: bool

    class Config:
        kind = "superconducting"  # class data

        def __init__(self) -> None:
            self.n_qubits = 7

        @property
        def large(self) -> bool:
            return self.n_qubits >= 5

        @functools.cached_property
        def volume(self) -> int:
            return 32

        @property
        def broken(self) -> int:
            raise AttributeError("not available")

    @dataclass
    class Device:
        configuration: Config
        status: Status
        raw: dict[str, Any]

    device = Device(Config(), Status(True), {"deep": {"x": 1}})
    keep = predicate(
        "configuration.n_qubits == 7 and configuration.large and configuration.volume == 32 "
        "and configuration.kind == superconducting and status.operational and raw.deep.x == 1"
    )
    assert keep(device)
    assert predicate("configuration.broken not exists")(device)
    assert predicate("status.missing not exists")(device)


def test_the_record_hook_is_the_declared_way_in() -> None:
    class Declared:
        secret = "hidden"

        def __qwhere_record__(self) -> dict[str, Any]:
            return {"name": "lima", "config": {"n": 5}}

    assert predicate("name == lima and config.n == 5 and secret not exists")(Declared())
    assert predicate("inner.name == lima")({"inner": Declared()})

    class InstanceHook:
        def __init__(self) -> None:
            self.__qwhere_record__ = trip  # only a class declares the record view

    assert predicate("name == x")(InstanceHook()) is False


# -- 11. no warning from re escapes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "matching", "not_matching"),
    [
        ("[[:alpha:]]", ["a]", ":]", "[]"], ["a", "b]", "]"]),  # JavaScript: one of [:alph, then ]
        ("[^[]", ["a"], ["["]),
        ("[a&&b]", ["&", "b"], ["c"]),
        ("[||]", ["|"], ["a"]),
        ("[~~x]", ["~", "x"], ["a"]),
    ],
)
def test_regex_classes_python_will_read_differently_compile_without_warnings(
    pattern: str, matching: list[str], not_matching: list[str]
) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        keep = predicate(Q.x.matches(pattern))
        assert parse(f"x ~ /{pattern}/") == Q.x.matches(pattern)
    assert all(keep({"x": text}) for text in matching)
    assert not any(keep({"x": text}) for text in not_matching)


def test_a_double_dash_in_a_class_is_a_typed_error() -> None:
    with pytest.raises(FilterValueError, match="set difference") as info:
        parse("x ~ /[+--]/")
    assert info.value.column == 5


# -- 8. prototype-pollution keys never reach a where clause ---------------------------------------

PROTO_TEXTS = [
    '"__proto__".isAdmin == true',
    "constructor.prototype.isAdmin == true",
    "a.constructor exists",
    'x."prototype" == 1',
    "__proto__ == 1",
    "a.__proto__.b in [1]",
]


@pytest.mark.parametrize("text", PROTO_TEXTS)
def test_the_parser_refuses_prototype_keys(text: str) -> None:
    with pytest.raises(FilterValueError, match="prototype") as info:
        parse(text)
    column = {"x": 3, "a": 1}.get(text[0], 1)  # the token that holds the key
    assert (info.value.line, info.value.column) == (1, column)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Q(**{"__proto__": "x"}),
        lambda: Q["__proto__"] == 1,
        lambda: Q.constructor.prototype == 1,
        lambda: Q["a.prototype"].exists(),
        lambda: Q.field("constructor").in_([1]),
    ],
)
def test_the_builder_refuses_prototype_keys(build: Any) -> None:
    with pytest.raises(ArgumentError, match="prototype"):
        build()


@pytest.mark.parametrize(
    "where",
    [
        {"__proto__": 1},
        {"__proto__.isAdmin": True},
        {"constructor.prototype.isAdmin": {"neq": None}},
        {"and": [{"a": 1}, {"prototype": 2}]},
    ],
)
def test_from_where_and_db_filter_refuse_prototype_keys(where: dict[str, Any]) -> None:
    from qwhere.service import job_filter

    with pytest.raises(UnsupportedWhereError, match="prototype"):
        from_where(where)
    with pytest.raises(UnsupportedWhereError, match="prototype"):
        job_filter(db_filter=where)


def test_the_loopback_compiler_guards_the_clause_last() -> None:
    from qwhere.loopback import field_key

    for path in (("__proto__",), ("a", "constructor"), ("prototype", "x")):
        with pytest.raises(FilterValueError, match="prototype"):
            field_key(path)
    assert field_key(("proto", "constructors")) == "proto.constructors"


# -- 6. every error from bad input is a QwhereError --------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda: Q[5],  # type: ignore[index]
        lambda: Q.x == object(),
        lambda: Q.x.matches("("),
        lambda: Q.x.matches(5),  # type: ignore[arg-type]
        lambda: Q.test(42),  # type: ignore[arg-type]
        lambda: Q(),
        lambda: Not(5),  # type: ignore[arg-type]
        lambda: Compare("x", "=~", 1),  # type: ignore[arg-type]
        lambda: parse("a == 1", schema="jobs"),  # type: ignore[arg-type]
        lambda: parse(b"a == 1"),  # type: ignore[arg-type]
        lambda: plan("a == 1", "jobs"),  # type: ignore[arg-type]
        lambda: predicate("a == 1", now="yesterday"),  # type: ignore[arg-type]
        lambda: plan(5),  # type: ignore[arg-type]
        lambda: predicate("a == 1", types=[1]),  # type: ignore[arg-type]
    ],
)
def test_bad_arguments_raise_argument_errors(call: Any) -> None:
    with pytest.raises(ArgumentError):
        call()


# -- 5. accepted input never raises a plain Python exception -------------------------------------


@pytest.mark.parametrize(
    ("text", "column", "words"),
    [
        ("created == 9999-12-31", 12, "out of range"),
        ("created > 0001-01-01T00:00", 11, "out of range"),
        ("created > now - 99999999999d", 11, "at most 100000 days"),
        ("name ~ /a{99999999999}/", 8, "too large"),
        ("name ~ /" + "(" * 3000 + ")" * 3000 + "/", 8, "regular expression"),
        ("x == " + "9" * 4301, 6, "too large"),
        ("x == -" + "9" * 400, 6, "too large"),
        ("x in [1, " + "2" * 309 + "]", 10, "JavaScript"),
        ('name == "\ud800"', 10, "lone surrogate"),
        ("name == x and\n tags any [\udfff]", 12, "lone surrogate"),
    ],
)
def test_out_of_range_input_is_a_filter_error_with_a_position(
    text: str, column: int, words: str
) -> None:
    with pytest.raises(FilterError) as info:
        plan(text, schemas.JOBS if text.startswith(("created", "name")) else None)
    assert words in info.value.reason
    assert info.value.column == column
    message = str(info.value)
    message.encode("utf-8")  # printable: no lone surrogate in the message
    assert len(message) < 600


def test_out_of_range_values_through_python_are_argument_errors() -> None:
    from qwhere.service import job_filter

    for bad in (
        lambda: Q.x == 10**400,
        lambda: Q.x == date(9999, 12, 31),
        lambda: Q.x == datetime.min,
        lambda: Q.x == "\ud800",
        lambda: Q["\ud800"] == 1,
        lambda: RelativeTime("now", 10**12),
        lambda: job_filter(start_datetime=datetime.min),
        lambda: job_filter(end_datetime=datetime.max),
        lambda: job_filter(backend_name="\ud800"),
        lambda: job_filter(job_tags=["ok", "\udc00"]),
        lambda: job_filter(where='name == "\ud800"'),
    ):
        with pytest.raises(QwhereError) as info:
            bad()
        str(info.value).encode("utf-8")
    with pytest.raises(UnsupportedWhereError, match="surrogate"):
        job_filter(db_filter={"name": "\ud800"})
    with pytest.raises(UnsupportedWhereError, match="surrogate"):
        job_filter(db_filter={"na\ud800me": 1})


def test_relative_times_against_an_extreme_now_are_filter_errors() -> None:
    for now, text in ((datetime.min, "created > now - 7d"), (datetime.max, "created < now + 7d")):
        with pytest.raises(QwhereError, match="out of range"):
            plan(text, schemas.JOBS, now=now)
        with pytest.raises(QwhereError, match="out of range"):
            predicate("created >= today", schemas.JOBS, now=now)


def test_retrieve_job_refuses_a_lone_surrogate_before_any_request() -> None:
    provider = connect("http://127.0.0.1:9", retries=0)  # nothing listens there; nothing is sent
    with pytest.raises(ArgumentError, match="surrogate"):
        provider.retrieve_job("job-\ud800")
    assert provider._core.transport.requests_sent == 0


def test_counts_beyond_javascript_integers_are_refused() -> None:
    provider = connect("http://127.0.0.1:9", retries=0)
    with pytest.raises(ArgumentError, match="2\\*\\*53"):
        provider.iter_jobs(skip=10**100)
    with pytest.raises(ArgumentError, match="2\\*\\*53"):
        provider.iter_jobs(limit=2**60)


# -- 5. nesting: one documented limit, supported by every later stage -------------------------


def _nested_text(levels: int, shape: str) -> str:
    """A filter whose and/or/not nest exactly ``levels`` deep, its deepest condition a date."""
    text = "created == 2024-01-31"
    for i in range(levels - 1):
        if shape == "not":
            text = f"not {text}" if i % 2 else f"not ({text})"
        elif i % 3 == 0:
            text = f"(status == ERROR or {text})"
        elif i % 3 == 1:
            text = f"(tags any [t{i}] and {text})"
        else:
            text = f"not {text}"
    return text


def _nested_tree(levels: int) -> Expr:
    tree: Expr = Q.created == date(2024, 1, 31)
    for i in range(levels - 1):
        tree = (
            (Q.status == "ERROR") | tree
            if i % 3 == 0
            else ~tree
            if i % 3 == 2
            else tree & (Q.tags.any([f"t{i}"]))
        )
    return tree


def _deep_stack(frames: int, call: Any) -> Any:
    """``call()`` from ``frames`` frames further down the stack (a caller's own depth)."""
    return call() if frames == 0 else _deep_stack(frames - 1, call)


def _every_stage(tree: Expr) -> None:
    assert parse(str(tree), schemas.JOBS) == tree
    assert repr(tree) and hash(tree) == hash(parse(str(tree), schemas.JOBS))
    planned = plan(tree, schemas.JOBS)
    accept = predicate(tree, schemas.JOBS)
    accept({"status": "ERROR_RUNNING_JOB", "creationDate": "2024-01-31T12:00:00Z"})
    accept(Rec())
    back = from_where(planned.where, types=schemas.JOBS.server_types())
    str(back), repr(back), plan(back)
    str(planned)
    if planned.residual is not None:
        str(planned.residual), predicate(planned.residual)


@pytest.mark.parametrize("shape", ["not", "mixed"])
def test_parse_accepts_the_limit_and_refuses_one_more_level(shape: str) -> None:
    at_limit = parse(_nested_text(MAX_DEPTH, shape), schemas.JOBS)
    assert at_limit.depth == MAX_DEPTH
    _deep_stack(300, lambda: _every_stage(at_limit))
    deeper = _nested_text(MAX_DEPTH + 1, shape)
    with pytest.raises(FilterSyntaxError, match=f"at most {MAX_DEPTH}") as info:
        parse(deeper, schemas.JOBS)
    # it points at a deepest condition
    innermost = ("created == 2024-01-31", "status == ERROR or created == 2024-01-31)")
    assert deeper[info.value.column - 1 :].startswith(innermost)


def test_the_builder_accepts_the_limit_and_refuses_one_more_level() -> None:
    at_limit = _nested_tree(MAX_DEPTH)
    assert at_limit.depth == MAX_DEPTH
    _deep_stack(300, lambda: _every_stage(at_limit))
    with pytest.raises(ArgumentError, match=f"at most {MAX_DEPTH}"):
        _nested_tree(MAX_DEPTH + 1)
    chain: Expr = Q.a == 1
    for _ in range(MAX_DEPTH - 1):
        chain = Not(chain)
    with pytest.raises(ArgumentError):
        _ = ~chain
    with pytest.raises(ArgumentError):
        Or((chain, Q.b == 1))


def test_every_stage_supports_the_deepest_derived_tree() -> None:
    """qwhere's own rewrites may nest up to STAGE_DEPTH; every stage takes that, and no more."""
    with derived():
        tree: Expr = Q.x == 1
        dated: Expr = Q.created == date(2024, 1, 31)
        for i in range(STAGE_DEPTH - 1):
            tree = Not(tree) if i % 2 else Or((tree, Q.status == f"S{i}"))
            dated = Not(dated) if i % 2 else Or((dated, Q.status == f"S{i}"))
        with pytest.raises(ArgumentError):
            Not(tree)
    with pytest.raises(ArgumentError, match="81 levels"):  # a date would make it 81: typed
        plan(dated)
    assert tree.depth == STAGE_DEPTH and tree.derived
    _deep_stack(
        300,
        lambda: (
            str(tree),
            repr(tree),
            hash(tree),
            predicate(tree)({"status": "S3"}),
            from_where(plan(tree).where),
            str(plan(tree)),
        ),
    )
    with pytest.raises(FilterSyntaxError):  # as text it is input again: the limit is 64
        parse(str(tree))


def test_from_where_accepts_its_limit_and_refuses_one_more_level() -> None:
    def where(levels: int) -> dict[str, Any]:
        clause: dict[str, Any] = {"name": "x"}
        for i in range(levels):
            clause = {"or" if i % 2 else "and": [{"id": str(i)}, clause]}
        return clause

    tree = from_where(where(MAX_WHERE_DEPTH - 1))
    _deep_stack(300, lambda: (str(tree), repr(tree), plan(tree), predicate(tree)({})))
    with pytest.raises(UnsupportedWhereError, match=f"more than {MAX_WHERE_DEPTH}"):
        from_where(where(MAX_WHERE_DEPTH))
    deep: Any = {"name": "x"}
    for _ in range(100_000):
        deep = {"and": [deep]}
    with pytest.raises(UnsupportedWhereError):
        from_where(deep)
    nested_value: Any = "x"
    for _ in range(100_000):
        nested_value = [nested_value]
    with pytest.raises(UnsupportedWhereError):
        from_where({"name": nested_value})


def test_every_plan_of_a_filter_at_the_limit_reads_back() -> None:
    """Schemas and dates nest a filter a few levels deeper; from_where reads every plan."""
    for text in (_nested_text(MAX_DEPTH, "not"), _nested_text(MAX_DEPTH, "mixed")):
        tree = parse(text, schemas.JOBS)
        planned = plan(tree, schemas.JOBS)
        assert from_where(planned.where, types=schemas.JOBS.server_types()) is not None


def test_the_cli_exits_2_without_a_traceback_on_hostile_filters() -> None:
    from qwhere.cli import main

    for text in (
        _nested_text(MAX_DEPTH + 1, "not"),
        "created == 9999-12-31",
        "x == " + "9" * 4301,
        '"__proto__".isAdmin == true',
        "a" * (MAX_TEXT_LENGTH + 1),
    ):
        out, err = io.StringIO(), io.StringIO()
        assert main(["explain", text, "--schema", "none"], out, err) == 2, err.getvalue()
        assert "Traceback" not in err.getvalue() and err.getvalue().startswith("qwhere: ")


# -- 9. the parse cache is bounded by size, and so is the input ---------------------------------


def test_input_longer_than_the_limit_is_refused_clearly() -> None:
    text = "a == 1 or " * (MAX_TEXT_LENGTH // 10) + "b"
    with pytest.raises(FilterSyntaxError, match="at most 100,000") as info:
        parse(text)
    assert info.value.column == MAX_TEXT_LENGTH + 1
    assert len(str(info.value)) < 500
    assert parse("a == 1 or " * ((MAX_TEXT_LENGTH - 10) // 10) + "b").depth == 2


def test_the_parse_cache_is_bounded_by_the_text_it_holds() -> None:
    from qwhere import parser

    parser._LONG_TEXTS.clear()
    long_filters = [f"id in [{', '.join(f'j{n}x{i}' for i in range(9000))}]" for n in range(15)]
    assert all(len(t) > 50_000 for t in long_filters)
    for text in long_filters:
        parse(text)
        assert parser._LONG_TEXTS.size <= parser._LONG_CACHE_CHARS
    assert len(parser._LONG_TEXTS.trees) < 15
    assert parse(long_filters[-1]) is parse(long_filters[-1])  # recent ones stay cached
    short = parser._parse_cached.cache_info()
    assert short.maxsize == 1024 and parser._SHORT_TEXT == 1000
    parser._LONG_TEXTS.clear()


# -- 10. every accepted text round-trips ------------------------------------------------------

_AWKWARD = st.sampled_from(
    [*"ab =!<>~()[],.'\"/\\-_019TZ\n\t", "\ud800", "\udfff", "😀", "é", "\x00"]
)


@given(st.text(alphabet=_AWKWARD, max_size=24))
@settings(max_examples=400, deadline=None)
@example('a == "\ud800"')
@example("a == '\udfff'")
@example('"\ud800" == 1')
def test_every_accepted_text_round_trips(text: str) -> None:
    try:
        tree = parse(text)
    except FilterError as err:
        str(err).encode("utf-8")
        return
    assert parse(str(tree)) == tree, text
    str(tree).encode("utf-8")


# -- fuzzing: random trees through every stage raise nothing but qwhere errors -----------------


def _deepened(tree: Expr, extra: int) -> Expr:
    for i in range(extra):
        tree = ~tree if i % 2 else tree | (Q.pad == i)
    return tree


@given(
    trees_of(conditions, max_leaves=16, width=4),
    st.integers(min_value=0, max_value=2 * MAX_DEPTH),
)
@settings(max_examples=300, deadline=None)
def test_random_trees_through_every_stage_raise_only_qwhere_errors(tree: Expr, extra: int) -> None:
    try:
        tree = _deepened(tree, extra)
    except QwhereError:
        return
    for stage in (
        lambda: str(tree),
        lambda: repr(tree),
        lambda: parse(str(tree)),
        lambda: predicate(tree)({"status": "x", "tags": ["a"]}),
        lambda: plan(tree),
        lambda: from_where(plan(tree).where),
        lambda: predicate(plan(tree).residual or TRUE)(Rec()),
    ):
        with contextlib.suppress(QwhereError):
            stage()


# -- hostile servers: real http.server instances on 127.0.0.1 -----------------------------------

TOKEN = "tok-3f9a'\"\\%+&=/x-secret"  # escapes differently in repr, JSON and URLs


class _Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    behave: Any = None  # set per server

    def do_GET(self) -> None:
        self.server.seen.append(  # type: ignore[attr-defined]
            (self.path, self.headers.get("X-Access-Token"))
        )
        type(self).behave(self)

    def log_message(self, *args: object) -> None:  # quiet
        pass

    def send_json(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        for key, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def trickle(self, data: bytes, every: float, limit: float = 20.0) -> None:
        """Write ``data`` a byte at a time; give up when the client goes or ``limit`` passes."""
        stop = time.monotonic() + limit
        try:
            for i in range(len(data)):
                if time.monotonic() > stop:
                    return
                self.wfile.write(data[i : i + 1])
                self.wfile.flush()
                time.sleep(every)
        except OSError:
            return


@contextlib.contextmanager
def hostile(behave: Any) -> Any:
    """A server on 127.0.0.1 answering every GET with ``behave(handler)``; yields its API URL."""
    handler = type("Handler", (_Hostile,), {"behave": staticmethod(behave)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        host, port = server.server_address[:2]
        url = f"http://{host}:{port}/api"
        yield url, server.seen  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _backends(handler: _Hostile) -> None:
    handler.send_json(200, [{"name": "b1", "configuration": {"n_qubits": 5}, "status": {}}])


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_refused_and_never_gets_the_token(status: int) -> None:
    with hostile(_backends) as (elsewhere, seen_elsewhere):

        def redirect(handler: _Hostile) -> None:
            handler.send_response(status)
            handler.send_header("Location", elsewhere + "/Backends?steal=1")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with hostile(redirect) as (url, seen):
            provider = connect(url, TOKEN, retries=2, backoff=0.001)
            with pytest.raises(RedirectError) as info:
                provider.backends()
    assert seen_elsewhere == []  # nothing, and so no token, went to the other origin
    assert [token for _, token in seen] == [TOKEN]  # one request, not retried
    assert info.value.status == status and "steal=***" in info.value.location
    assert TOKEN not in str(info.value)


def test_a_redirect_within_the_origin_is_followed_with_the_token() -> None:
    def behave(handler: _Hostile) -> None:
        if handler.path.startswith("/api/Backends"):
            handler.send_response(307)
            handler.send_header("Location", "/api/v2/Backends")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            _backends(handler)

    with hostile(behave) as (url, seen):
        assert [b.name for b in connect(url, TOKEN).backends()] == ["b1"]
    assert seen == [("/api/Backends", TOKEN), ("/api/v2/Backends", TOKEN)]


def test_a_redirect_loop_ends_quickly_with_a_typed_error() -> None:
    def loop(handler: _Hostile) -> None:
        handler.send_response(302)
        handler.send_header("Location", handler.path)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with hostile(loop) as (url, seen):
        started = time.monotonic()
        with pytest.raises(RedirectError, match="more than 5 redirects"):
            connect(url, TOKEN, max_redirects=5).backends()
        assert time.monotonic() - started < 5
    assert len(seen) == 6


def _slow_body(handler: _Hostile) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.trickle(b"[" + b" " * 998 + b"]", 0.2)


def _slow_headers(handler: _Hostile) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    handler.trickle(b"".join(b"X-Slow-%d: %d\r\n" % (i, i) for i in range(90)), 0.05)


def _endless_chunks(handler: _Hostile) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    stop = time.monotonic() + 20
    try:
        handler.wfile.write(b"1\r\n[\r\n")
        while time.monotonic() < stop:
            handler.wfile.write(b"2\r\n0,\r\n")
            handler.wfile.flush()
            time.sleep(0.01)
    except OSError:
        return


@pytest.mark.parametrize("behave", [_slow_body, _slow_headers, _endless_chunks])
def test_a_trickling_or_endless_answer_ends_at_the_deadline(behave: Any) -> None:
    with hostile(behave) as (url, _seen):
        provider = connect(url, TOKEN, timeout=(1, 1), retries=3, deadline=2)
        started = time.monotonic()
        with pytest.raises(DeadlineExceeded) as info:
            provider.backends()
        took = time.monotonic() - started
    assert 1.5 < took < 4, took
    assert isinstance(info.value, RequestTimeout) and isinstance(info.value, TimeoutError)
    assert TOKEN not in str(info.value)


def test_an_oversized_body_is_refused_while_streaming() -> None:
    def declared(handler: _Hostile) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(200 * 1024 * 1024))
        handler.end_headers()
        with contextlib.suppress(OSError):
            handler.wfile.write(b"[" + b"0," * 1000)

    def chunked(handler: _Hostile) -> None:
        handler.send_response(200)
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        piece = b"0," * 32 * 1024
        with contextlib.suppress(OSError):
            handler.wfile.write(b"1\r\n[\r\n")
            for _ in range(64):  # 4 MB in all, never closed
                handler.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            handler.wfile.write(b"1\r\n0\r\n1\r\n]\r\n0\r\n\r\n")

    for behave in (declared, chunked):
        with hostile(behave) as (url, _seen):
            provider = connect(url, retries=2, max_response_bytes=1024 * 1024)
            with pytest.raises(ResponseTooLarge) as info:
                provider.backends()
            assert info.value.limit == 1024 * 1024
    with hostile(chunked) as (url, _seen):  # within the limit, the same body is read
        assert connect(url, max_response_bytes=8 * 1024 * 1024)._core.transport.get("/x")


def test_an_answer_echoing_the_token_never_shows_it() -> None:
    forms = secret_forms(TOKEN)
    assert len(forms) >= 4

    def echo(handler: _Hostile) -> None:
        headers = dict(handler.headers.items())
        if "count" in handler.path:  # JSON of the wrong shape, a million characters long
            handler.send_json(200, {"echo": headers, "forms": forms, "pad": "x" * 1_000_000})
        elif "Jobs/" in handler.path:  # an error quoting the token in every form
            handler.send_json(400, {"error": {"message": " ".join(forms), "code": TOKEN}})
        else:  # not JSON
            raw = ("\n".join(forms) + json.dumps(headers) + "y" * 1_000_000).encode()
            handler.send_response(200)
            handler.send_header("Content-Length", str(len(raw)))
            handler.end_headers()
            handler.wfile.write(raw)

    with hostile(echo) as (url, _seen):
        provider = connect(url, TOKEN, retries=0)
        errors = []
        for call in (provider.count_jobs, provider.backends, lambda: provider.retrieve_job("j")):
            with pytest.raises(QwhereError) as info:
                call()
            errors.append(info.value)
    for error in errors:
        shown = [str(error), repr(error), *map(str, error.args)]
        shown += [getattr(error, "message", ""), str(getattr(error, "code", ""))]
        assert not any(form in text for form in forms for text in shown), shown
        assert len(str(error)) < 1200


def _backends_only(handler: _Hostile) -> None:
    if handler.path.startswith("/api/Backends"):
        _backends(handler)
    else:
        handler.send_json(404, {"error": {"message": f"no route {handler.path}"}})


def test_credentials_in_the_url_never_show(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with hostile(_backends_only) as (url, _seen):
        host = url.split("//", 1)[1]
        secret_url = f"http://alice:hunter2pass@{host}?access_token=qs-secret-77"
        provider = connect(secret_url, retries=0)
        texts = [repr(provider), repr(provider.backend), repr(provider._core.transport)]
        assert provider.backends()[0].name == "b1"
        with pytest.raises(ApiError) as info:
            provider._core.transport.get("/../nowhere-hunter2pass")
        texts += [str(info.value), repr(info.value)]
    dead = connect("http://alice:hunter2pass@127.0.0.1:9/api?access_token=qs-secret-77", retries=0)
    with pytest.raises(ConnectionFailed) as failed:
        dead.backends()
    texts += [str(failed.value), repr(dead)]
    with pytest.raises(ArgumentError) as bad:
        connect("ftp://alice:hunter2pass@host/?access_token=qs-secret-77")
    texts.append(str(bad.value))
    assert caplog.records, "debug logging was captured"
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert "hunter2pass" not in text and "qs-secret-77" not in text, text
    assert "***@" in repr(dead)


@pytest.mark.parametrize(
    "token",
    ["tok\n", "tok en", "\ttok", "tok\x00", "tök", "tok\r\nX-Evil: 1", "", 5],
)
def test_tokens_that_cannot_be_sent_are_refused_without_being_shown(token: Any) -> None:
    with pytest.raises(ArgumentError) as info:
        connect("http://127.0.0.1:9/api", token)
    if isinstance(token, str) and len(token) > 1:
        assert token not in str(info.value) and repr(token)[1:-1] not in str(info.value)


@pytest.mark.parametrize(
    "options",
    [
        {"timeout": 0},
        {"timeout": float("nan")},
        {"timeout": (1, float("inf"))},
        {"retries": -1},
        {"retries": 1.5},
        {"backoff": float("nan")},
        {"backoff": float("inf")},
        {"backoff": -1},
        {"backoff_max": float("inf")},
        {"max_retry_after": 0},
        {"deadline": 0},
        {"deadline": float("inf")},
        {"max_response_bytes": 0},
        {"max_response_bytes": 1.5},
        {"max_redirects": -1},
        {"page_size": 10**100},
        {"workers": True},
    ],
)
def test_connect_refuses_bad_options_with_argument_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ArgumentError):
        connect("http://127.0.0.1:9/api", **options)


@pytest.mark.parametrize("retry_after", ["1.5", "-5", "soon", "", "99999999999999"])
def test_a_malformed_retry_after_is_treated_as_absent(retry_after: str) -> None:
    def busy_then_fine(handler: _Hostile) -> None:
        seen = handler.server.seen  # type: ignore[attr-defined]
        if len(seen) < 3:
            handler.send_json(
                429, {"error": {"message": "slow down"}}, {"Retry-After": retry_after}
            )
        else:
            _backends(handler)

    with hostile(busy_then_fine) as (url, seen):
        started = time.monotonic()
        provider = connect(url, retries=3, backoff=0.01, max_retry_after=2)
        assert [b.name for b in provider.backends()] == ["b1"]
        assert time.monotonic() - started < 4 if retry_after != "99999999999999" else True
    assert len(seen) == 3
    assert parse_retry_after(retry_after) is None or retry_after == "99999999999999"


def test_retry_after_as_seconds_or_an_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 7 ") == 7.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:05 GMT", now) == 5.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now) == 0.0
    assert parse_retry_after(None) is None


def test_a_server_body_nested_100000_deep_is_a_protocol_error() -> None:
    def deep(handler: _Hostile) -> None:
        raw = b"[" * 100_000 + b"]" * 100_000
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(raw)))
        handler.end_headers()
        handler.wfile.write(raw)

    with hostile(deep) as (url, _seen), pytest.raises(ProtocolError, match="nests too deep"):
        connect(url, retries=0)._core.transport.get("/Backends")
