"""Properties of the text language: round trips, fixed points, grammar-generated input."""

from __future__ import annotations

import contextlib
import re
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from strategies import trees

from qwhere import FilterError, FilterSyntaxError, parse
from qwhere.parser import grammar_text
from qwhere.tree import Expr


@given(trees)
@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
def test_random_trees_round_trip_through_text(tree: Expr) -> None:
    text = str(tree)
    assert parse(text) == tree, text
    assert str(parse(text)) == text


@given(trees)
@settings(max_examples=200)
def test_trees_are_hashable_and_equal_to_their_copies(tree: Expr) -> None:
    again = parse(str(tree))
    assert hash(again) == hash(tree)
    assert {tree: 1}[again] == 1


# Strings generated from the grammar itself. Raw output glues tokens together, so the
# keywords are padded with spaces and dates come from real datetimes.
_SPACED = {
    name: st.just(f" {word} ")
    for name, word in {
        "_OR": "or",
        "_AND": "and",
        "_NOT": "not",
        "_IN": "in",
        "_BETWEEN": "between",
        "_EXISTS": "exists",
        "TRUE": "true",
        "FALSE": "false",
        "NULL": "null",
        "NOW": "now",
        "TODAY": "today",
    }.items()
}
_EXPLICIT = {
    **_SPACED,
    "QUANTIFIER": st.sampled_from([" all ", " ANY ", " none "]),
    "RELATIVE": st.sampled_from([" now - 7d ", " today + 2w ", " NOW+3h "]),
    "DATE": st.dates().map(lambda d: f" {d.isoformat()} "),
    "DATETIME": st.datetimes().map(lambda d: f" {d.isoformat(timespec='seconds')}Z "),
    "NUMBER": st.integers().map(lambda i: f" {i} ")
    | st.floats(allow_nan=False).map(lambda f: f" {f!r} "),
    "NAME": st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,5}", fullmatch=True).map(lambda s: f" {s} "),
    "CMP": st.sampled_from([" == ", " != ", " < ", " <= ", " > ", " >= "]),
}


@given(from_lark(Lark(grammar_text(), parser="lalr"), explicit=_EXPLICIT))
@settings(max_examples=500, suppress_health_check=list(HealthCheck))
@example(" a == 1 andy ")
def test_grammar_generated_text_parses_or_raises_filter_errors(text: str) -> None:
    try:
        tree = parse(text)
    except FilterError:
        return
    assert isinstance(tree, Expr)
    assert parse(str(tree)) == tree


# The same grammar with tokens that are valid on their own (non-empty quoted strings with
# the escapes the language knows, patterns with JavaScript's flags), so that most inputs
# parse and the round trip is really exercised: every refusal left is pinned by message.
_KEYWORDS = {"or", "and", "not", "in", "between", "exists", "all", "any", "none"} | {
    "true",
    "false",
    "null",
    "now",
    "today",
}
_TEXT = st.text(st.characters(exclude_characters="\"'\\\n", exclude_categories=["Cs"]), min_size=1)
_VALID = {
    **_EXPLICIT,
    "NUMBER": st.integers().map(lambda i: f" {i} ")
    | st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f" {f!r} "),
    "STRING": st.one_of(
        _TEXT.map(lambda t: f' "{t}" '),
        st.tuples(_TEXT, st.sampled_from(["\\\\", '\\"', "\\n", "\\u00e9"])).map(
            lambda p: f' "{p[0]}{p[1]}" '
        ),
    ),
    "NAME": _EXPLICIT["NAME"].filter(lambda n: n.strip().lower() not in _KEYWORDS),
    "DATE": st.dates(date(1, 1, 2), date(9999, 12, 30)).map(lambda d: f" {d.isoformat()} "),
    "DATETIME": st.datetimes(datetime(1, 1, 2), datetime(9999, 12, 30)).map(
        lambda d: f" {d.isoformat(timespec='seconds')}Z "
    ),
    "REGEX": st.tuples(
        st.sampled_from(["a", "^b", "c$", "\\d+", "x.y", "[a-z]", "(p|q)", "\\/"]),
        st.sampled_from(["", "i", "m", "s", "im", "ims"]),
    ).map(lambda p: f" /{p[0]}/{p[1]} "),
}
#: the refusals valid tokens can still meet, each a rule of the language
_PINNED_REFUSALS = re.compile(
    r"^invalid regular expression /"  # a quoted string after ~ is a pattern
    r"|^empty part in a dotted field name"  # "." and "a..b" as field names
    r"|^field name '[^']+' is refused: JavaScript reads"  # __proto__ and its kin
)


@given(from_lark(Lark(grammar_text(), parser="lalr"), explicit=_VALID))
@settings(max_examples=300, suppress_health_check=list(HealthCheck))
def test_grammar_generated_text_with_valid_tokens_round_trips(text: str) -> None:
    try:
        tree = parse(text)
    except FilterError as exc:
        event("refused")
        first = str(exc).splitlines()[0]
        assert _PINNED_REFUSALS.search(first), f"refused {text!r}: {first}"
        return
    event("parsed")
    assert isinstance(tree, Expr)
    assert parse(str(tree)) == tree
    assert str(parse(str(tree))) == str(tree)


@given(
    st.text(alphabet=st.sampled_from(list("ab =!<>~()[],.'\"/\\-_0123456789TZnotdi ")), max_size=30)
)
@settings(max_examples=500)
def test_arbitrary_text_never_escapes_as_anything_but_filter_errors(text: str) -> None:
    with contextlib.suppress(FilterError):
        parse(text)


def test_cached_parse_returns_the_same_tree() -> None:
    text = "created > now - 7d and tags any [x]"
    assert parse(text) is parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "status in [RUNNING, ERROR] and tags all [a, b]",
        "not (name ~ /bell.*/ or backend == ibmq_qasm_simulator) and created >= 2024-01-01T00:00Z",
        "created > now - 7d and created between 2024-01-01 and 2024-02-01",
        "n_qubits >= 5 and operational and not simulator",
        "name ~ /^bell/i or experiment_id exists",
    ],
)
def test_canonical_examples_are_fixed_points(text: str) -> None:
    assert str(parse(text)) == text


def test_strict_grammar_builds() -> None:
    pytest.importorskip("interegular")
    from qwhere.parser import build_strict_parser

    parser = build_strict_parser()
    assert parser.parse("a == 1")


def test_parser_cache_never_lives_in_the_shared_temp_dir() -> None:
    import tempfile

    from qwhere.parser import _cache_file, grammar_text

    where = _cache_file(grammar_text())
    if where is not None:
        assert not where.startswith(tempfile.gettempdir())
        assert re.search(r"filter-[0-9a-f]{16}\.lark\.cache$", where)


def test_syntax_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse("a ==")
    with pytest.raises(FilterSyntaxError):
        parse("a ==")
