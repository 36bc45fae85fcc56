"""Invalid filters: each raises a typed qwhere error with this exact message and position."""

from __future__ import annotations

import pytest

from qwhere import (
    FilterError,
    FilterSyntaxError,
    FilterTypeError,
    FilterValueError,
    UnknownFieldError,
    parse,
    schemas,
)

SCHEMAS = {None: None, "J": schemas.JOBS, "B": schemas.BACKENDS}

CASES = [
    (
        "",
        None,
        FilterSyntaxError,
        1,
        1,
        "empty filter; write a condition such as `status == RUNNING`",
    ),
    (
        "   ",
        None,
        FilterSyntaxError,
        1,
        4,
        "empty filter; write a condition such as `status == RUNNING`",
    ),
    (
        "a",
        "J",
        UnknownFieldError,
        1,
        1,
        "unknown field 'a'; known fields: backend, backend_name, created, creation_date, experiment_id, id, job_id, job_name, job_tags, name, status, tags",
    ),
    ("a ==", None, FilterSyntaxError, 1, 5, "unexpected end of filter; expected a value"),
    (
        "a == 1 andy",
        None,
        FilterSyntaxError,
        1,
        8,
        "unexpected word 'andy'; expected 'and', 'or' or the end of the filter",
    ),
    (
        "x notin [a]",
        None,
        FilterSyntaxError,
        1,
        3,
        "unexpected word 'notin'; expected a comparison (==, !=, <, <=, >, >=), 'in', 'not', 'all', 'any' or 'none', '~', 'between', 'exists', '.', 'and', 'or' or the end of the filter",
    ),
    ("(a == 1", None, FilterSyntaxError, 1, 8, "unexpected end of filter; expected ')'"),
    ("a == 1)", None, FilterSyntaxError, 1, 7, "unexpected ')'; expected the end of the filter"),
    ('a == "x', None, FilterSyntaxError, 1, 6, "unterminated string; expected a value"),
    ("a in b", None, FilterSyntaxError, 1, 6, "unexpected word 'b'; expected '['"),
    ("a in [1, 2", None, FilterSyntaxError, 1, 11, "unexpected end of filter; expected ',' or ']'"),
    ("a in [1,, 2]", None, FilterSyntaxError, 1, 9, "unexpected ','; expected a value or ']'"),
    ("and a == 1", None, FilterSyntaxError, 1, 1, "unexpected 'and'; expected a condition"),
    ("a == 1 or", None, FilterSyntaxError, 1, 10, "unexpected end of filter; expected a condition"),
    ("a === 1", None, FilterSyntaxError, 1, 5, "'=' is not an operator (write == to compare)"),
    ("a = 1", None, FilterSyntaxError, 1, 3, "'=' is not an operator (write == to compare)"),
    (
        "a == 1 b == 2",
        None,
        FilterSyntaxError,
        1,
        8,
        "unexpected word 'b'; expected 'and', 'or' or the end of the filter",
    ),
    (
        "a ~ /x",
        None,
        FilterSyntaxError,
        1,
        5,
        "unterminated regular expression; expected a regular expression (/.../ or a quoted string)",
    ),
    (
        "a ~ /x/q",
        None,
        FilterValueError,
        1,
        5,
        "unknown regular expression flag(s) 'q'; allowed: i, m, s",
    ),
    (
        "a ~ /(/",
        None,
        FilterValueError,
        1,
        5,
        "invalid regular expression /(/: missing ), unterminated subpattern at position 0",
    ),
    (
        "a ~ 5",
        None,
        FilterSyntaxError,
        1,
        5,
        "unexpected number '5'; expected a regular expression (/.../ or a quoted string)",
    ),
    ("a between 1", None, FilterSyntaxError, 1, 12, "unexpected end of filter; expected 'and'"),
    ("a between 1 or 2", None, FilterSyntaxError, 1, 13, "unexpected 'or'; expected 'and'"),
    ("a == 2024-13-01", None, FilterValueError, 1, 6, "2024-13-01 is not a valid date"),
    (
        "a == 2024-01-01T25:00",
        None,
        FilterValueError,
        1,
        6,
        "2024-01-01T25:00 is not a valid date and time",
    ),
    (
        "a == today + 3h",
        None,
        FilterValueError,
        1,
        6,
        "'today' moves in whole days or weeks (d, w), not hours",
    ),
    (
        "a == now - 7x",
        None,
        FilterSyntaxError,
        1,
        10,
        "a relative time needs an amount and a unit: now - 7d (units s, m, h, d, w)",
    ),
    ("a == 'bad \\q escape'", None, FilterSyntaxError, 1, 6, "unknown escape \\q in a string"),
    ("a.b. == 1", None, FilterSyntaxError, 1, 6, "unexpected operator '=='; expected a field name"),
    ("a all b", None, FilterSyntaxError, 1, 7, "unexpected word 'b'; expected '['"),
    ("a == [1]", None, FilterSyntaxError, 1, 6, "unexpected '['; expected a value"),
    ("not", None, FilterSyntaxError, 1, 4, "unexpected end of filter; expected a condition"),
    (
        "a == 1 and not",
        None,
        FilterSyntaxError,
        1,
        15,
        "unexpected end of filter; expected a condition",
    ),
    ("()", None, FilterSyntaxError, 1, 2, "unexpected ')'; expected a condition"),
    (
        "a exists b",
        None,
        FilterSyntaxError,
        1,
        10,
        "unexpected word 'b'; expected 'and', 'or' or the end of the filter",
    ),
    ("a == 5q", None, FilterSyntaxError, 1, 6, "unexpected '5q'; expected a value"),
    ("a == 1e999", None, FilterValueError, 1, 6, "number 1e999 is too large"),
    (
        "a == 1\nand b ==",
        None,
        FilterSyntaxError,
        2,
        9,
        "unexpected end of filter; expected a value",
    ),
    (
        "a @ 1",
        None,
        FilterSyntaxError,
        1,
        3,
        "unexpected '@'; expected a comparison (==, !=, <, <=, >, >=), 'in', 'not', 'all', 'any' or 'none', '~', 'between', 'exists', '.', 'and', 'or' or the end of the filter",
    ),
    (
        "a == 1 or or b == 2",
        None,
        FilterSyntaxError,
        1,
        11,
        "unexpected 'or'; expected a condition",
    ),
    (
        "stauts == RUNNING",
        "J",
        UnknownFieldError,
        1,
        1,
        "unknown field 'stauts'; did you mean 'status' or 'tags'?",
    ),
    (
        "status == RUNING",
        "J",
        FilterValueError,
        1,
        11,
        "unknown status 'RUNING' (did you mean RUNNING?); allowed: INITIALIZING, QUEUED, VALIDATING, RUNNING, CANCELLED, DONE, ERROR",
    ),
    (
        "status in [RUNNING, DONEE]",
        "J",
        FilterValueError,
        1,
        21,
        "unknown status 'DONEE' (did you mean DONE?); allowed: INITIALIZING, QUEUED, VALIDATING, RUNNING, CANCELLED, DONE, ERROR",
    ),
    (
        'n_qubits >= "abc"',
        "B",
        FilterTypeError,
        1,
        13,
        "n_qubits takes a number, not 'abc' (a string)",
    ),
    (
        "created > 5",
        "J",
        FilterTypeError,
        1,
        11,
        "created takes a date or time (2024-01-31, 2024-01-31T12:00Z, now - 7d, today), not 5 (a number)",
    ),
    (
        "n_qubits",
        "B",
        FilterTypeError,
        1,
        1,
        "n_qubits is a number field, not a true/false flag; compare it with a value",
    ),
    (
        "tags ~ 5",
        "J",
        FilterSyntaxError,
        1,
        8,
        "unexpected number '5'; expected a regular expression (/.../ or a quoted string)",
    ),
    (
        "status ~ /RUN/",
        "J",
        FilterTypeError,
        1,
        1,
        "~ matches text; status is an enum field (use `in [...]` with its values)",
    ),
    (
        "name all [a]",
        "J",
        FilterTypeError,
        1,
        1,
        "all applies to list fields; name is a string field",
    ),
    (
        "operational == 1",
        "B",
        FilterTypeError,
        1,
        16,
        "operational takes true or false, not 1 (a number)",
    ),
    (
        "created between 2024-01-01 and 5",
        "J",
        FilterTypeError,
        1,
        32,
        "created takes a date or time (2024-01-31, 2024-01-31T12:00Z, now - 7d, today), not 5 (a number)",
    ),
    ("tags > a", "J", FilterTypeError, 1, 1, "tags is a list field: it cannot be ordered with >"),
    ("n_qubits > null", "B", FilterTypeError, 1, 12, "null can only be compared with == or !="),
    (
        "nqubits >= 5",
        "B",
        UnknownFieldError,
        1,
        1,
        "unknown field 'nqubits'; did you mean 'n_qubits'?",
    ),
    (
        "a ~ /x/g",
        None,
        FilterValueError,
        1,
        5,
        "unknown regular expression flag(s) 'g'; allowed: i, m, s",
    ),
    (
        "a == now -",
        None,
        FilterSyntaxError,
        1,
        10,
        "a relative time needs an amount and a unit: now - 7d (units s, m, h, d, w)",
    ),
    (
        "a in []]",
        None,
        FilterSyntaxError,
        1,
        8,
        "unexpected ']'; expected 'and', 'or' or the end of the filter",
    ),
    ('a."" == 1', None, FilterSyntaxError, 1, 3, "a field name cannot be empty"),
    ("'unterminated", None, FilterSyntaxError, 1, 1, "unterminated string; expected a condition"),
    (
        'a ~ "("',
        None,
        FilterValueError,
        1,
        5,
        "invalid regular expression /(/: missing ), unterminated subpattern at position 0",
    ),
    (
        "x == 1 and (y == 2 or z == 3",
        None,
        FilterSyntaxError,
        1,
        29,
        "unexpected end of filter; expected ')'",
    ),
]


@pytest.mark.parametrize(("text", "schema", "kind", "line", "column", "reason"), CASES)
def test_invalid_filter_message(
    text: str, schema: str | None, kind: type[FilterError], line: int, column: int, reason: str
) -> None:
    with pytest.raises(FilterError) as info:
        parse(text, schema=SCHEMAS[schema])
    err = info.value
    assert type(err) is kind
    assert (err.line, err.column, err.reason) == (line, column, reason)
    # the message ends with the input line and a caret under the fault
    row = text.split("\n")[line - 1]
    assert str(err).endswith(f"\n  {row}\n  {' ' * (column - 1)}^")
    assert "__ANON" not in str(err) and "Token(" not in str(err)


def test_there_are_at_least_forty_invalid_inputs() -> None:
    assert len(CASES) >= 40


def test_error_at_end_points_past_the_text() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse("n_qubits >= 5 and")
    assert info.value.column == len("n_qubits >= 5 and") + 1


def test_unknown_field_error_carries_suggestions() -> None:
    with pytest.raises(UnknownFieldError) as info:
        parse("stauts == RUNNING", schema=schemas.JOBS)
    assert info.value.field == "stauts"
    assert info.value.suggestions[0] == "status"


def test_no_lark_exception_escapes() -> None:
    import lark

    for text in ["a ==", "a ~ /(/", "a == 2024-99-99", "'x", "status == X"]:
        with pytest.raises(FilterError) as info:
            parse(text, schema=schemas.JOBS if text.startswith("status") else None)
        assert not isinstance(info.value, lark.exceptions.LarkError)
        assert info.value.__cause__ is None


def test_parse_rejects_non_text() -> None:
    with pytest.raises(TypeError, match="filter text"):
        parse(b"a == 1")  # type: ignore[arg-type]


def test_error_kinds_are_value_errors() -> None:
    for kind in (FilterSyntaxError, FilterTypeError, FilterValueError, UnknownFieldError):
        assert issubclass(kind, ValueError) and issubclass(kind, FilterError)
