"""qwhere's reading of JavaScript regular expressions against V8 (the engine's RegExp).

The memory connector runs a ``regexp`` condition as ``value.match(new RegExp(...))``, so
``LoopBackEngine.regex`` asks V8 directly: thousands of patterns and strings in one call.
The tests through juggler itself (records, where clauses) are in test_probes.py
(``fidelity_probes``) and test_properties.py; ``test_case_folding_through_the_engine``
below runs the case tables through juggler too.

For every pattern: if V8 rejects it, qwhere refuses it; if qwhere accepts it, Python
selects exactly the strings V8 selects.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from qwhere import predicate
from qwhere.jsregex import JsRegex, _case_classes, case_mates
from qwhere.tree import Match

from .engine import LoopBackEngine

BMP = [chr(u) for u in range(0x10000)]


def _esc(unit: int) -> str:
    return f"\\u{unit:04x}"


def _qwhere(pattern: str, flags: str, strings: list[str]) -> set[int] | None:
    """The indexes of ``strings`` qwhere's predicate selects, or None if it refuses."""
    try:
        rx = JsRegex(pattern, flags)
    except ValueError:
        return None
    return {i for i, s in enumerate(strings) if rx.search(s)}


# ---------------------------------------------------------------------------------------------
# the i flag: JavaScript's Canonicalize, not Python's case folding


def test_the_case_table_is_v8s(engine: LoopBackEngine) -> None:
    """Every other code unit matches only itself under ``i`` (chunks of them against the
    whole BMP), and every code unit with case mates exactly its class (as a literal and in
    a class; against the others with mates, as no other code unit matches them)."""
    keys, _ = _case_classes()
    patterns = [(_esc(u), "i") for u in keys] + [(f"[{_esc(u)}]", "i") for u in keys]
    found = engine.regex(patterns, [chr(u) for u in keys])
    for (pattern, _), hits in zip(patterns, found, strict=True):
        unit = int(pattern.strip("[]")[2:], 16)
        assert {keys[i] for i in hits} == set(case_mates(unit)), pattern  # type: ignore[union-attr]
    alone = [u for u in range(0x10000) if u not in set(keys) and not 0xD800 <= u <= 0xDFFF]
    chunks = [alone[i : i + 400] for i in range(0, len(alone), 400)]
    found = engine.regex([("[" + "".join(map(_esc, c)) + "]", "i") for c in chunks], BMP)
    for chunk, hits in zip(chunks, found, strict=True):
        assert hits == set(chunk), sorted(map(hex, set(chunk) ^ hits))  # type: ignore[arg-type]


SPECIALS = [
    ("k", "\u212a"),  # KELVIN SIGN: upper case of nothing JavaScript folds
    ("s", "\u017f"),  # LATIN SMALL LETTER LONG S
    ("ß", "\u1e9e"),  # SHARP S / CAPITAL SHARP S
    ("ω", "\u2126"),  # OHM SIGN
    ("å", "\u212b"),  # ANGSTROM SIGN
    ("i", "\u0130"),  # DOTTED CAPITAL I
    ("i", "\u0131"),  # DOTLESS SMALL I
    ("µ", "μ"),  # MICRO SIGN / GREEK MU: JavaScript folds these
    ("σ", "ς"),
    ("θ", "\u03d1"),
    ("\u1e61", "\u1e9b"),
]


@pytest.mark.parametrize(("plain", "special"), SPECIALS)
def test_case_specials(engine: LoopBackEngine, plain: str, special: str) -> None:
    strings = [plain, plain.upper(), special, special.lower(), special.upper(), f"x{special}x"]
    patterns = [
        (p, "i")
        for p in (plain, special, plain.upper(), f"^[{plain}]$", f"[^{plain}]", "^\\w+$", "\\W")
    ]
    for (pattern, flags), hits in zip(patterns, engine.regex(patterns, strings), strict=True):
        assert _qwhere(pattern, flags, strings) == hits, (pattern, strings)


@given(
    st.lists(st.sampled_from(sorted(_case_classes()[0])), min_size=1, max_size=40),
    st.booleans(),
)
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_ranges_under_i(engine: LoopBackEngine, units: list[int], negated: bool) -> None:
    """Ranges between code units with case mates, under i: qwhere closes them as V8 does."""
    lo, hi = min(units), max(units)
    strings = [chr(u) for m in units for u in case_mates(m)] + [chr(lo - 1), chr(hi + 1)]
    pattern = f"^[{'^' if negated else ''}{_esc(lo)}-{_esc(hi)}{''.join(map(_esc, units))}]$"
    (hits,) = engine.regex([(pattern, "i")], strings)
    assert _qwhere(pattern, "i", strings) == hits


def test_case_folding_through_the_engine(engine: LoopBackEngine) -> None:
    """The case classes through juggler: records with one character each, and for each of 12
    ways to split them in two, ``/^[one half]$/i`` selects what ``predicate`` selects."""
    keys, _ = _case_classes()
    alphabet = sorted({*keys, *(ord(c) for pair in SPECIALS for c in pair)})
    properties = {"id": {"type": "string", "id": True}, "name": {"type": "string"}}
    records = [{"id": f"u{u:04x}", "name": chr(u)} for u in alphabet]
    for bit in range(12):
        half = [u for i, u in enumerate(alphabet) if (i * 2654435761) >> (bit + 8) & 1]
        pattern = "^[" + "".join(map(_esc, half)) + "]$"
        result = engine.select(properties, records, {"name": {"regexp": f"/{pattern}/i"}})
        assert result.error is None and not result.warnings, result
        keep = predicate(Match("name", pattern, "i"))
        assert {r["id"] for r in records if keep(r)} == set(result.ids or ()), bit


# ---------------------------------------------------------------------------------------------
# line terminators, \s, ^ and $


def test_line_terminators_and_spaces(engine: LoopBackEngine) -> None:
    """``.``, ``\\s``, and ``^``/``$`` with and without m, at every BMP code unit."""
    singles = [c for c in BMP if not "\ud800" <= c <= "\udfff"]
    cases: list[tuple[str, str, list[str]]] = [
        ("^.$", "", singles),
        ("^\\s$", "", singles),
        ("^[\\S]$", "i", singles),
        ("^b", "m", [f"a{c}b" for c in singles]),
        ("a$", "m", [f"a{c}b" for c in singles]),
        ("a$", "", [f"a{c}" for c in singles]),
        ("a.b", "", [f"a{c}b" for c in singles]),
    ]
    found = engine.regex([(p, f) for p, f, _ in cases[:3]], singles)
    for (pattern, flags, strings), hits in zip(cases, found, strict=False):
        assert _qwhere(pattern, flags, strings) == hits, pattern
    for pattern, flags, strings in cases[3:]:
        (hits,) = engine.regex([(pattern, flags)], strings)
        assert _qwhere(pattern, flags, strings) == hits, pattern


# ---------------------------------------------------------------------------------------------
# JavaScript's literal braces and the other forms only the web grammar has

BRACE_FORMS = [
    "a{,2}",
    "a{,}",
    "{",
    "}",
    "]",
    "a{",
    "a{1",
    "a{1,",
    "a{1,2",
    "a{ 2}",
    "a{2 }",
    "a{}",
    "{}",
    "{,}",
    "x{2}",
    "x{0}",
    "x{01}",
    "x{2,}",
    "x{1,3}",
    "x{1,3}?",
    "}+",
    "]{2}",
    "a}*",
    "{1}",
    "a{2,1}",
    "a{2}{3}",
    "x|{1}",
    "({1})",
    "^{1}",
    "^*",
    "$+",
    "\\b*",
    "\\B+",
    "(?<=a)*",
    "(?=a)*",
    "(?!a)+",
    "(?=a){2}",
    "a**",
    "a*+",
    "a{99999999999}",
    "[a-]",
    "[-a]",
    "[a-b-c]",
    "[\\d-z]",
    "[\\w-]",
    "[]]",
    "[[]",
    "\\a",
    "\\U0001F600",
    "\\0",
    "\\012",
    "\\08",
    "(a)?b\\1",
    "^(?:(a)|b)*\\1$",
    "(a)b\\1",
    "(?<n>a)\\k<n>",
    "(a)|\\1",
    "\\1(a)",
    "(a\\1)",
]


def test_brace_and_web_forms(engine: LoopBackEngine) -> None:
    strings = [
        "a",
        "aa",
        "a{,2}",
        "a{,}",
        "{",
        "}",
        "]",
        "a{1",
        "a{1,2",
        "a{ 2}",
        "a{}",
        "{,}",
        "xx",
        "x",
        "xxx",
        "}}",
        "]]",
        "b",
        "ab",
        "aba",
        "abb",
        "\x07",
        "U0001F600",
        "\U0001f600",
        "\x00",
        "\n",
        "\x008",
    ]
    found = engine.regex([(p, "") for p in BRACE_FORMS], strings)
    for pattern, hits in zip(BRACE_FORMS, found, strict=True):
        mine = _qwhere(pattern, "", strings)
        if isinstance(hits, str):
            assert mine is None, f"V8 rejects /{pattern}/ ({hits}); qwhere accepts it"
        elif mine is not None:
            assert mine == hits, pattern
    accepted = {p for p in BRACE_FORMS if _qwhere(p, "", []) is not None}
    assert {"a{,2}", "{", "}", "]", "a{1,2", "{,}", "}+", "[\\d-z]"} <= accepted


# ---------------------------------------------------------------------------------------------
# generated patterns

_LITERALS = [
    *"abkKsSiI01{},-]é",
    "\u212a",
    "\u017f",
    "ß",
    "\u1e9e",
    "Ω",
    "\u2126",
    "µ",
    "μ",
    "\u0130",
    "\u0131",
    "\\{",
    "\\.",
    "\\/",
    "\\n",
    "\\r",
    "\\x41",
    "\\u00e9",
    "\\0",
    "😀",
]
_CLASS_PARTS = [
    "a-z",
    "A-Z",
    "J-L",
    "\u2100-\u2130",
    "à-ÿ",
    "\\w",
    "\\W",
    "\\d",
    "\\s",
    "\\S",
    "\\d-z",
    "-a",
    "ſ",
    "k",
    "\\b",
    "\\]",
    "\\-",
    "\\u00c0-\\u024f",
]
_QUANTIFIERS = ["*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?", "{,2}", "{2,1}", "{1", "{"]


@st.composite
def js_patterns(draw: st.DrawFn, depth: int = 0) -> str:
    def atom() -> str:
        kind = draw(st.integers(0, 9 if depth < 2 else 5))
        if kind <= 4:
            return draw(st.sampled_from([*_LITERALS, ".", "\\w", "\\s", "\\d", "\\b", "^", "$"]))
        if kind <= 6:
            body = "".join(draw(st.lists(st.sampled_from(_CLASS_PARTS), min_size=1, max_size=3)))
            return "[" + draw(st.sampled_from(["", "", "^"])) + body + "]"
        group = draw(st.sampled_from(["(", "(?:", "(?=", "(?!", "(?<=", "(?<!"]))
        return group + draw(js_patterns(depth + 1)) + ")"

    def term() -> str:
        text = atom()
        if draw(st.integers(0, 3)) == 0:
            text += draw(st.sampled_from(_QUANTIFIERS))
        return text

    alternatives = [
        "".join(term() for _ in range(draw(st.integers(1, 3))))
        for _ in range(draw(st.integers(1, 2)))
    ]
    return "|".join(alternatives)


SUBJECTS = [
    *"abkKsSiI01{},-]é.",
    *"\u212a\u017fß\u1e9eΩω\u2126µμ\u0130\u0131åÅ\u212b",
    *"\n\r\u2028\u2029 \u00a0\ufeff\t",
    "a{,2}",
    "ab",
    "ba",
    "aK",
    "ſim",
    "a\rb",
    "a\u2028b",
    "\U0001f600",
    "x😀y",
    "A",
]


@given(pattern=js_patterns(), flags=st.sampled_from(["", "i", "m", "im", "s"]))
@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    deadline=None,
)
def test_generated_patterns_agree_with_v8(engine: LoopBackEngine, pattern: str, flags: str) -> None:
    note(json.dumps(pattern))
    strings = SUBJECTS + [a + b for a in SUBJECTS[:20] for b in SUBJECTS[:20]]
    (hits,) = engine.regex([(pattern, flags)], strings)
    mine = _qwhere(pattern, flags, strings)
    if isinstance(hits, str):
        assert mine is None, f"V8 rejects it ({hits}); qwhere accepts it"
    elif mine is not None:
        assert mine == hits, [strings[i] for i in sorted(mine ^ hits)][:5]


def test_every_pattern_qwhere_accepts_compiles() -> None:
    """A check that passes means Python compiles the translation (no error at search)."""

    @given(js_patterns(), st.sampled_from(["", "i", "m", "s"]))
    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    def run(pattern: str, flags: str) -> None:
        try:
            rx = JsRegex(pattern, flags)
        except ValueError:
            return
        rx.search("abc")

    run()
