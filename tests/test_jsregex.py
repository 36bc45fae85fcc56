"""The JavaScript regular-expression reader: its errors, and that checking compiles nothing.

What a pattern selects is tested against V8 itself in tests/conformance/test_regex_engine.py.
"""

from __future__ import annotations

import pytest

from qwhere import parse, predicate
from qwhere.jsregex import JsRegex, _matcher, js_regex
from qwhere.tree import Match

# Every error the reader gives, with the message Python's ``re`` gave when patterns were
# checked by compiling them (positions count characters of the pattern as written).
ERRORS = [
    ("(", "missing ), unterminated subpattern at position 0"),
    ("ab(cd", "missing ), unterminated subpattern at position 2"),
    ("(a(b", "missing ), unterminated subpattern at position 2"),
    ("a)", "unbalanced parenthesis at position 1"),
    ("*", "nothing to repeat at position 0"),
    ("a|*", "nothing to repeat at position 2"),
    ("^*", "nothing to repeat at position 1"),
    ("\\b+", "nothing to repeat at position 2"),
    ("(?<=a)*", "nothing to repeat at position 6"),
    ("{1}", "nothing to repeat at position 0"),
    ("a**", "multiple repeat at position 2"),
    ("a{1}{2}", "multiple repeat at position 4"),
    ("[a", "unterminated character set at position 0"),
    ("[\\]", "unterminated character set at position 0"),
    ("[z-a]", "bad character range z-a at position 1"),
    ("[a-\\d]", "bad character range a-\\d at position 1"),
    ("\\", "bad escape (end of pattern) at position 0"),
    ("a\\", "bad escape (end of pattern) at position 1"),
    ("a{2,1}", "min repeat greater than max repeat at position 2"),
    ("x{99999999999}", "the repetition number is too large"),
    ("(?<a>x)(?<a>y)", "redefinition of group name 'a' as group 2; was group 1 at position 10"),
    ("(?<1a>x)", "bad character in group name '1a' at position 3"),
    ("(?<a", "missing >, unterminated name at position 3"),
    ("(?<>x)", "missing group name at position 3"),
    ("(?<a>x)\\k<b>", "unknown group name 'b' at position 10"),
    ("\\k<a>", "unknown group name 'a' at position 3"),
    ("\\1", "invalid group reference 1 at position 1"),
    ("\\1(a)", "invalid group reference 1 at position 1"),
    ("(a\\1)", "cannot refer to an open group at position 2"),
    ("\\e", "bad escape \\e at position 0"),
    ("\\c", "bad escape \\c at position 0"),
    ("\\k", "bad escape \\k at position 0"),
    ("[\\B]", "bad escape \\B at position 1"),
    ("\\x4", "incomplete escape \\x4 at position 0"),
    ("\\u12", "incomplete escape \\u12 at position 0"),
    ("\\p", "bad escape \\p at position 0"),
    ("(?", "unexpected end of pattern at position 2"),
    ("(?x)", "'(?x'... is Python-only regular-expression syntax"),
    ("(?P<a>x)", "'(?P'... is Python-only regular-expression syntax"),
    ("x(?#c)", "'(?#'... is Python-only regular-expression syntax"),
    ("\\A", "\\A is Python-only regular-expression syntax"),
    ("\\Z", "\\Z is Python-only regular-expression syntax"),
    ("\\a", "\\a is Python-only regular-expression syntax"),
    ("\\U0001F600", "\\U is Python-only regular-expression syntax"),
    ("[]", "[] and [^] mean different things in JavaScript and Python"),
    ("[^]", "[] and [^] mean different things in JavaScript and Python"),
    ("(?<=a+)b", "look-behind requires fixed-width pattern"),
    ("(?<=a|bc)", "look-behind requires fixed-width pattern"),
    ("a*+", "possessive quantifiers are Python-only regular-expression syntax"),
    ("😀(", "missing ), unterminated subpattern at position 1"),
]


@pytest.mark.parametrize(("pattern", "message"), ERRORS)
def test_errors(pattern: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Match("x", pattern)
    assert str(caught.value) == f"invalid regular expression /{pattern}/: {message}"


@pytest.mark.parametrize(
    ("pattern", "flags", "reason"),
    [
        ("(a)?b\\1", "", "may not have matched"),
        ("^(?:(a)|b)*\\1$", "", "may not have matched"),
        ("(a)|\\1", "", "may not have matched"),
        ("(?=(a))\\1", "", "may not have matched"),
        ("(?<=(a))\\1", "", "may not have matched"),
        ("(a)+\\1", "", "may not have matched"),
        ("(a)\\1", "i", "the i flag"),
        ("(?<n>a)\\k<n>", "i", "the i flag"),
    ],
)
def test_backreferences_python_cannot_mirror(pattern: str, flags: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Match("x", pattern, flags)


@pytest.mark.parametrize(
    "pattern",
    ["(a)b\\1", "(?<n>a)\\k<n>", "(?:(a)\\1)+", "(a)(?:\\1|b)", "((a)b)\\2", "(a|b)\\1"],
)
def test_backreferences_to_groups_that_have_matched(pattern: str) -> None:
    Match("x", pattern)


def test_checking_compiles_nothing() -> None:
    """parse reads a pattern; the Python pattern is compiled when a predicate needs it,
    once for every predicate with that pattern and flags."""
    pattern = "^job-[0-9]+-(x|y){1,3}$"
    before = js_regex.cache_info().misses
    tree = parse(f"name ~ /{pattern}/i and name ~ /{pattern}/m")
    assert js_regex.cache_info().misses == before
    keep = predicate(tree)
    assert js_regex.cache_info().misses == before + 2
    assert keep({"name": "JOB-7-X"}) is False and keep({"name": "job-7-xy"}) is True
    predicate(tree)
    assert js_regex.cache_info().misses == before + 2
    assert _matcher(pattern, "i") is JsRegex(pattern, "i").matcher()


@pytest.mark.parametrize(
    ("pattern", "flags", "text", "found"),
    [
        ("^b", "m", "a\rb", True),
        ("^b", "m", "a\u2028b", True),
        ("a$", "m", "a\u2029b", True),
        ("a.b", "", "a\rb", False),
        ("a.b", "s", "a\rb", True),
        ("a$", "", "a\n", False),
        ("k", "i", "\u212a", False),
        ("s", "i", "\u017f", False),
        ("ß", "i", "\u1e9e", False),
        ("^\\w+$", "i", "\u017fim", False),
        ("^[a-z]+$", "i", "ABC", True),
        ("µ", "i", "Μ", True),
        ("a{,2}", "", "a", False),
        ("a{,2}", "", "a{,2}", True),
        ("^}]{$", "", "}]{", True),
        ("x{2}", "", "xx", True),
        ("(?=a)*b", "", "b", True),
        ("(?!b)+b", "", "b", False),
        ("^.$", "", "\U0001f600", False),
        ("^..$", "", "\U0001f600", True),
        ("\\s", "", "\ufeff", True),
        ("\\s", "", "\u200b", False),
        ("[\\d-z]", "", "-", True),
    ],
)
def test_javascript_meaning(pattern: str, flags: str, text: str, found: bool) -> None:
    assert JsRegex(pattern, flags).search(text) is found
