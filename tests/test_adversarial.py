"""What a hostile filter, server or redirect can do: each attack, and the safe answer (issue 11).

Servers here are real ``http.server`` instances bound to 127.0.0.1 in threads, bounded in
time and stopped at the end of each test.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

import attrs
import pytest

from qwhere import (
    ArgumentError,
    Compare,
    FilterValueError,
    Not,
    Q,
    UnsupportedWhereError,
    from_where,
    parse,
    plan,
    predicate,
)

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
