"""The filter language: the tree, the text syntax, the Q builder and schemas."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from strategies import trees

from qwhere import (
    FALSE,
    TRUE,
    And,
    Between,
    Compare,
    Exists,
    FilterSyntaxError,
    FilterTypeError,
    In,
    JobStatus,
    Match,
    Not,
    Or,
    Q,
    Quantified,
    RelativeTime,
    Test,
    parse,
    schemas,
)
from qwhere.tree import all_of

# ---- the design card's five examples ---------------------------------------------------


def test_design_card_example() -> None:
    assert parse("status in [RUNNING, ERROR] and tags all [a,b]") == And(
        [In("status", ["RUNNING", "ERROR"]), Quantified("tags", "all", ["a", "b"])]
    )


def test_negation_regex_and_utc_datetime() -> None:
    tree = parse(
        'not (name ~ "bell.*" or backend == ibmq_qasm_simulator) and created >= 2024-01-01T00:00Z'
    )
    assert tree == And(
        [
            Not(Or([Match("name", "bell.*"), Compare("backend", "==", "ibmq_qasm_simulator")])),
            Compare("created", ">=", datetime(2024, 1, 1, tzinfo=UTC)),
        ]
    )


def test_relative_times_and_between_dates() -> None:
    tree = parse("created > now - 7d and created between 2024-01-01 and 2024-02-01")
    assert tree == And(
        [
            Compare("created", ">", RelativeTime("now", -7 * 86400)),
            Between("created", date(2024, 1, 1), date(2024, 2, 1)),
        ]
    )


def test_bare_flags() -> None:
    assert parse("n_qubits >= 5 and operational and not simulator") == And(
        [
            Compare("n_qubits", ">=", 5),
            Compare("operational", "==", True),
            Not(Compare("simulator", "==", True)),
        ]
    )


def test_regex_literal_and_exists() -> None:
    assert parse("name ~ /^bell/i or experiment_id exists") == Or(
        [Match("name", "^bell", "i"), Exists("experiment_id")]
    )


# ---- syntax ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("A == 1 AND b == 2 Or NOT c", "A == 1 and b == 2 or not c"),
        ("a or b and c", "a or b and c"),
        ("(a or b) and c", "(a or b) and c"),
        ("not a and b", "not a and b"),
        ("not (a and b)", "not (a and b)"),
        ("((a))", "a"),
        ("a and (b and c)", "a and b and c"),
        ("a or (b or c)", "a or b or c"),
        ("x not in [a, 'b c']", 'x not in [a, "b c"]'),
        ("not x in [a]", "x not in [a]"),
        ("x not exists", "x not exists"),
        ("x == 'it''s'", None),
        ("x == 'say \"hi\"'", 'x == "say \\"hi\\""'),
        ("x == exp-1", "x == exp-1"),
        ("tags all [exp-1, exp_2, v1.2]", "tags all [exp-1, exp_2, v1.2]"),
        ("x in [run-2024.01, ibm_kyoto, v1.2-rc1, a.-b]", None),
        ("x == 'v1.2'", "x == v1.2"),
        ("x == 'and.1'", 'x == "and.1"'),
        ("x == 'v1.'", 'x == "v1."'),
        ("x == '1.2'", 'x == "1.2"'),
        ("x == 1.2", "x == 1.2"),
        ("x == 'and'", 'x == "and"'),
        ('x == "now - 7d"', 'x == "now - 7d"'),
        ("x == now-7d", "x == now - 7d"),
        ("x > NOW + 2H", "x > now + 2h"),
        ("x >= today - 2w", "x >= today - 14d"),
        ("x == -1.5e3", "x == -1500.0"),
        ("x == TRUE or y == Null", "x or y == null"),
        ("x == 2024-01-01T10:30:00+05:30", "x == 2024-01-01T10:30+05:30"),
        ("x == 2024-01-01T10:30:15.250", "x == 2024-01-01T10:30:15.250000"),
        ("backend.name == x", "backend.name == x"),
        ('"odd name".x == 1', '"odd name".x == 1'),
        ('"a.b" == 1', "a.b == 1"),
        ("x ~ /a\\/b/", "x ~ /a\\/b/"),
        ("x ~ 'a/b'", "x ~ /a\\/b/"),
        ("x ~ /x/mi", "x ~ /x/im"),
        ("true", "true"),
        ("false or x", "false or x"),
        ("tags any [a,]", "tags any [a]"),
        ("tags none []", "tags none []"),
        ("x == 名前", "x == 名前"),
        ("a == 1\nand\tb == 2", "a == 1 and b == 2"),
    ],
)
def test_canonical_text(text: str, canonical: str | None) -> None:
    if canonical is None and text.startswith("x in [run"):
        assert str(parse(text)) == text
        return
    if canonical is None:
        with pytest.raises(ValueError):
            parse(text)
        return
    tree = parse(text)
    assert str(tree) == canonical
    assert parse(canonical) == tree


def test_keywords_need_word_boundaries() -> None:
    assert parse("x == notable") == Compare("x", "==", "notable")
    assert parse("android == 1") == Compare("android", "==", 1)
    assert parse("x == nowhere") == Compare("x", "==", "nowhere")
    assert parse("x in [in_, all-x]") == In("x", ["in_", "all-x"])


def test_values_keep_their_types() -> None:
    assert parse("x == 1") != parse("x == true")
    assert parse("x == 1") != parse("x == 1.0")
    assert hash(parse("x == 1")) != hash(parse("x == true"))
    assert Compare("x", "==", 1) != Compare("x", "==", True)
    assert In("x", [1]) != In("x", [1.0])


def test_aware_datetimes_remember_their_offset() -> None:
    plus5 = datetime(2024, 1, 1, 5, tzinfo=timezone(timedelta(hours=5)))
    utc = datetime(2024, 1, 1, tzinfo=UTC)
    assert plus5 == utc  # same instant ...
    assert Compare("t", "==", plus5) != Compare("t", "==", utc)  # ... written differently


def test_and_or_flatten_and_keep_order() -> None:
    a, b, c, d = (Compare(n, "==", 1) for n in "abcd")
    assert (a & b) & (c & d) == And([a, b, c, d])
    assert (a | b) | c == Or([a, b, c])
    assert a & (b | c) == And([a, Or([b, c])])
    assert (d & a).operands == (d, a)  # type: ignore[attr-defined]
    with pytest.raises(ValueError):
        And([a])


def test_true_and_false_constants() -> None:
    assert parse("true") == TRUE == And(())
    assert parse("false") == FALSE == Or(())
    assert str(Not(TRUE)) == "not true"


def test_trees_are_immutable() -> None:
    node = Compare("x", "==", 1)
    with pytest.raises(AttributeError):
        node.value = 2  # type: ignore[misc]


# ---- the builder ----------------------------------------------------------------------


def test_builder_builds_the_same_trees_as_text() -> None:
    pairs = [
        (Q.status == "ERROR", "status == ERROR"),
        (Q.status.in_(["RUNNING", "ERROR"]), "status in [RUNNING, ERROR]"),
        (Q.status.not_in(["DONE"]), "status not in [DONE]"),
        (Q.tags.all(["a", "b"]), "tags all [a, b]"),
        (Q.tags.any(["a"]), "tags any [a]"),
        (Q.tags.none(["a"]), "tags none [a]"),
        (Q.name.matches("bell.*", flags="i"), "name ~ /bell.*/i"),
        (
            Q.created.between(date(2024, 1, 1), date(2024, 2, 1)),
            "created between 2024-01-01 and 2024-02-01",
        ),
        (Q.experiment_id.exists(), "experiment_id exists"),
        (Q.backend.name == "x", "backend.name == x"),
        (Q["odd-name"] == 1, "odd-name == 1"),
        (Q["odd name"] != 1, '"odd name" != 1'),
        (Q.n < 1, "n < 1"),
        (Q.n <= 1.5, "n <= 1.5"),
        (Q.n > -1, "n > -1"),
        (Q.n >= 0, "n >= 0"),
        (Q.x == None, "x == null"),  # noqa: E711
        (Q.operational.is_true(), "operational"),
        (~Q.simulator.is_true(), "not simulator"),
        ((Q.a == 1) & (Q.b == 2) | (Q.c == 3), "a == 1 and b == 2 or c == 3"),
        (Q(status="ERROR", backend_name="x"), "status == ERROR and backend_name == x"),
        (Q(status="ERROR"), "status == ERROR"),
        (Q.field("test") == 1, "test == 1"),
    ]
    for built, text in pairs:
        assert built == parse(text), text
        assert str(built) == text


def test_text_and_builder_mix() -> None:
    mixed = parse("status == ERROR") & Q.tags.any(["x"])
    assert mixed == parse("status == ERROR and tags any [x]")
    assert str(Q.tags.any(["x"]) | parse("a or b")) == "tags any [x] or a or b"


def test_bool_of_a_filter_fails_loudly() -> None:
    with pytest.raises(TypeError, match=r"use|&"):
        bool(Q.a == 1)
    with pytest.raises(TypeError):
        _ = (Q.a == 1) and (Q.b == 2)
    with pytest.raises(TypeError, match="is a field"):
        bool(Q.a)


def test_combining_with_non_filters_fails() -> None:
    with pytest.raises(TypeError, match="parentheses"):
        (Q.a == 1) & True  # type: ignore[operator]


def test_python_values_are_accepted() -> None:
    class Color(enum.Enum):
        RED = "a red thing"

    class Size(enum.StrEnum):
        BIG = "big"

    naive = datetime(2024, 5, 1, 12, 0)
    assert (Q.status == JobStatus.ERROR) == (Q.status == "ERROR")
    assert (Q.c == Color.RED) == (Q.c == "RED")
    assert (Q.s == Size.BIG) == (Q.s == "big")
    assert (Q.t >= naive).value == naive  # type: ignore[attr-defined]
    assert (Q.d == date(2024, 1, 1)) == parse("d == 2024-01-01")
    assert Q.status.in_([JobStatus.RUNNING, "ERROR"]) == parse("status in [RUNNING, ERROR]")


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Q.name == {"neq": "x"},
        lambda: Q.name.in_("abc"),
        lambda: Q.name.in_({"a": 1}),
        lambda: Q.x == [1, 2],
        lambda: Q.x == object(),
        lambda: Q.x == float("nan"),
        lambda: Q.x == Q.y,
        lambda: Q(),
    ],
)
def test_builder_rejects_bad_values(bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        bad()  # type: ignore[operator]


def test_callables_join_the_algebra() -> None:
    def heavy(b: object) -> bool:
        return True

    expr = (Q.n_qubits >= 5) & Q.test(heavy)
    assert isinstance(expr, And)
    assert expr.operands[1] == Test(heavy)
    assert "heavy" in str(expr)
    assert Test(heavy) != Test(lambda b: True)
    with pytest.raises(TypeError):
        Q.test(42)  # type: ignore[arg-type]


def test_regex_is_checked_when_built() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        Q.name.matches("(")
    with pytest.raises(ValueError, match="flag"):
        Q.name.matches("x", flags="g")


# ---- relative times --------------------------------------------------------------------


def test_relative_times_stay_relative_in_cached_trees() -> None:
    tree = parse("created > now - 7d")
    assert tree is parse("created > now - 7d")
    assert tree.value == RelativeTime("now", -604800)  # type: ignore[attr-defined]


def test_relative_time_resolution() -> None:
    from qwhere.values import resolve

    now = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
    assert resolve(RelativeTime("now", -3600), now) == datetime(2024, 3, 10, 11, 0, tzinfo=UTC)
    assert isinstance(resolve(RelativeTime("today", -86400), now), date)
    with pytest.raises(ValueError, match="whole days"):
        RelativeTime("today", 3600)


# ---- schemas ---------------------------------------------------------------------------


def test_schema_normalises_aliases_and_enum_case() -> None:
    tree = parse(
        "job_name ~ /x/ and status in [running, Error] and backend_name == q", schema=schemas.JOBS
    )
    assert str(tree) == "name ~ /x/ and status in [RUNNING, ERROR] and backend == q"


def test_schema_bind_validates_builder_trees() -> None:
    assert schemas.JOBS.bind(Q.job_tags.any(["x"])) == Q.tags.any(["x"])
    with pytest.raises(FilterTypeError):
        schemas.BACKENDS.bind(Q.n_qubits >= "abc")
    assert schemas.BACKENDS.bind(Q.test(print) & (Q.operational == True)) == all_of(  # noqa: E712
        Q.test(print), Q.operational.is_true()
    )


def test_without_a_schema_fields_pass_through() -> None:
    assert parse("anything.at.all == 1") == Compare(("anything", "at", "all"), "==", 1)


@given(trees)
@settings(max_examples=100)
def test_builder_combinators_equal_text_combinators(tree: object) -> None:
    from qwhere.tree import Expr

    assert isinstance(tree, Expr)
    assert parse(f"({tree}) and x") == (tree & Compare("x", "==", True))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("x == v1.2", "v1.2"),
        ("x == run-2024.01", "run-2024.01"),
        ("x == v1.2.3", "v1.2.3"),
        ("x == a.b.1.c", "a.b.1.c"),
        ("x == a.-b", "a.-b"),
        ("x == 名前.1", "名前.1"),
        ("x == andy.1", "andy.1"),
        ("x == 1.2", 1.2),
        ("x == 2024-01-01", None),  # a date
        ("x == now-7d", None),  # a relative time
    ],
)
def test_value_barewords(text: str, value: object) -> None:
    """A value's bareword may have dotted parts that start with a digit or "-"; numbers,
    dates, relative times and keywords read as before."""
    tree = parse(text)
    assert isinstance(tree, Compare)
    if value is not None:
        assert tree.value == value and type(tree.value) is type(value)
    else:
        assert not isinstance(tree.value, str)


@pytest.mark.parametrize(
    "text",
    ["x == true.1", "x == now.5", "x == v1.", "x == v1..2", "v1.2 == x", "x == .5", "x == a.b."],
)
def test_what_stays_no_bareword(text: str) -> None:
    """A keyword with a dotted part, a trailing or double dot, and a field path with a
    part that starts with a digit are still errors (quote them)."""
    with pytest.raises(FilterSyntaxError):
        parse(text)


@pytest.mark.parametrize(
    ("text", "column"), [("v1.2 == x", 1), ("tags.0 == a", 1), ('a."b".c.1', 7)]
)
def test_a_field_part_cannot_start_with_a_digit(text: str, column: int) -> None:
    with pytest.raises(FilterSyntaxError, match="position in a list") as caught:
        parse(text)
    assert caught.value.column == column
    assert parse('v1."2" == x') == Compare(("v1", "2"), "==", "x")
