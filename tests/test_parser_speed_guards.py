"""Guards for the parser's fast paths and its cache (structural; nothing here is timed).

The parser scans with one master regular expression (``FastLexer``) and drives lark's LALR
parser from a prepared configuration. Both must be invisible: every result, and every
error with its message and position, must be what lark's own contextual lexer and
``Lark.parse`` give for the same grammar. The parser cache is a pickle, so it must only
ever load a private file of ours, and a stale or damaged one must be rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark

from qwhere import schemas
from qwhere.errors import FilterError
from qwhere.parser import (
    FastLexer,
    _build_parser,
    _BuildTree,
    _cache_file,
    _direct,
    _parse_text,
    _runner,
    grammar_text,
    lark_parser,
)

SCHEMAS = [None, schemas.JOBS, schemas.BACKENDS]


@pytest.fixture(scope="module")
def reference() -> Callable[[Any], Any]:
    """Lark as it comes: its contextual lexer and ``Lark.parse``, same grammar and transformer."""
    parser = Lark(
        grammar_text(),
        parser="lalr",
        lexer="contextual",
        maybe_placeholders=False,
        transformer=_BuildTree(),
    )
    return lambda source: parser.parse(source.text)


def outcome(run: Callable[[Any], Any], text: str, schema: Any) -> tuple[object, ...]:
    try:
        tree = _parse_text(run, text, schema)
    except FilterError as err:
        return (type(err), str(err), err.line, err.column, err.fragment)
    return ("tree", tree, repr(tree))


def test_the_fast_paths_are_in_use() -> None:
    lexer = lark_parser().parser.lexer
    assert isinstance(lexer, FastLexer)
    assert lexer._match is not None, "the grammar fell back to lark's lexer for every token"
    assert _runner() != lark_parser().parse, "lark's internals changed: plain Lark.parse in use"
    # lark's own way in (a str, as a TextSlice) reaches the same lexer
    assert str(lark_parser().parse("a == 1 and\n b ~ /x/")) == "a == 1 and b ~ /x/"


def test_no_token_can_start_with_ignored_text() -> None:
    """FastLexer skips white space before matching (possessively); exact only while no
    terminal can match text that starts with what ``%ignore`` matches."""
    interegular = pytest.importorskip("interegular")
    parser = lark_parser()
    ignored = [t for t in parser.terminals if t.name in parser.lexer_conf.ignore]
    assert ignored
    lead = "(?:" + "|".join(t.pattern.to_regexp() for t in ignored) + r")[\s\S]*"
    for terminal in parser.terminals:
        if terminal in ignored:
            continue
        regexes = {"token": terminal.pattern.to_regexp(), "lead": lead}
        clash = list(interegular.Comparator.from_regexes(regexes).check(["token", "lead"]))
        assert not clash, f"{terminal.name} can start with ignored text"


# Text near the language: grammar-generated (with white space and newlines between the
# tokens), and near misses.
_WS = st.sampled_from([" ", "  ", "\n", " \n ", "\t", "\r\n"])
_WORDS = {
    "_OR": ["or", "OR"],
    "_AND": ["and", "And"],
    "_NOT": ["not"],
    "_IN": ["in"],
    "_BETWEEN": ["between"],
    "_EXISTS": ["exists"],
    "QUANTIFIER": ["all", "ANY", "none"],
    "TRUE": ["true"],
    "FALSE": ["false"],
    "NULL": ["null"],
    "NOW": ["now"],
    "TODAY": ["today"],
    "RELATIVE": ["now - 7d", "today + 2w", "NOW+3h", "now -\t1s"],
    "CMP": ["==", "!=", "<", "<=", ">", ">="],
    "NAME": ["status", "tags", "backend.name", "n_qubits", "x-y", "名前", "andy", "nowhere"],
    "NUMBER": ["5", "-2.5", "1e3", "1e999", "007"],
    "DATE": ["2024-01-01", "2024-13-01"],
    "DATETIME": ["2024-01-01T00:00Z", "2024-01-01T25:00", "2024-01-01T10:00:00+02:00"],
}
_EXPLICIT = {
    name: st.tuples(_WS, st.sampled_from(words), _WS).map("".join) for name, words in _WORDS.items()
}
_MISSES = st.sampled_from(
    [
        "a == 1 andy",
        "x notin [a]",
        "(a == 1",
        "a == 1)",
        'a == "x',
        "a in [1,, 2]",
        "a ~ /x",
        "a == 2024-13-01 ]",
        "now - x",
        "a = 1",
        '"" == 1',
        'a."" exists',
        "a\n==\n",
        "a ==\n\n  )",
        "(b",
        "a\n  and\n b ~ /(/",
        "status == RUNING",
        "created > 5",
        "n_qubits >= 'abc'",
    ]
)


def _mutations(text: str) -> Iterator[str]:
    yield text
    yield text[: len(text) // 2]
    yield text.replace(" ", "\n")
    yield text + " )"


@given(
    st.one_of(
        from_lark(Lark(grammar_text(), parser="lalr"), explicit=_EXPLICIT),
        _MISSES,
        st.text(alphabet=st.sampled_from(list("ab =!<>~()[],.'\"/\\-_019TZnotdi\n")), max_size=25),
    ),
    st.sampled_from(SCHEMAS),
)
@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@example("n_qubits >= 5 and operational and not simulator", None)
@example("a ==\n  2024-13-01\n  and", None)
@example("status in [RUNNING,\n  ERRR]", schemas.JOBS)
def test_results_and_errors_are_lark_s(
    reference: Callable[[Any], Any], text: str, schema: Any
) -> None:
    fast = _runner()
    for variant in _mutations(text):
        assert outcome(fast, variant, schema) == outcome(reference, variant, schema), variant


# ---------------------------------------------------------------------------------------------
# the parser cache


def _works(parser: Lark) -> bool:
    tree = _parse_text(_direct(parser), "status in [a, b] and n > 1", None)
    return str(tree) == "status in [a, b] and n > 1"


def test_a_new_cache_file_is_private_and_complete(tmp_path: Path) -> None:
    cache = tmp_path / "filter.lark.cache"
    assert _works(_build_parser(grammar_text(), str(cache)))
    assert cache.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [cache.name]  # no half-written leftovers
    assert _works(_build_parser(grammar_text(), str(cache)))  # and it loads


def test_a_corrupt_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "filter.lark.cache"
    cache.write_bytes(b"not a pickle\n\x80\x04garbage")
    assert _works(_build_parser(grammar_text(), str(cache)))
    assert not cache.read_bytes().startswith(b"not a pickle")
    assert _works(_build_parser(grammar_text(), str(cache)))


def test_a_stale_cache_file_is_rebuilt(tmp_path: Path) -> None:
    cache = tmp_path / "filter.lark.cache"
    Lark('start: "x"', parser="lalr", cache=str(cache))  # a valid cache of another grammar
    before = cache.read_bytes()
    assert _works(_build_parser(grammar_text(), str(cache)))
    assert cache.read_bytes() != before


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "qwhere"


def test_the_cache_lives_in_a_private_user_folder(cache_home: Path) -> None:
    where = _cache_file(grammar_text())
    assert where is not None and Path(where).parent == cache_home
    assert cache_home.stat().st_mode & 0o077 == 0


def test_a_cache_folder_others_may_write_is_not_used(cache_home: Path) -> None:
    cache_home.mkdir(mode=0o700)
    cache_home.chmod(0o777)
    assert _cache_file(grammar_text()) is None


@pytest.mark.parametrize("kind", ["writable by others", "a link"])
def test_a_cache_file_that_is_not_private_is_never_loaded(cache_home: Path, kind: str) -> None:
    where = _cache_file(grammar_text())
    assert where is not None
    target = Path(where)
    if kind == "a link":
        (cache_home / "elsewhere").write_bytes(b"x")
        target.symlink_to(cache_home / "elsewhere")
    else:
        target.write_bytes(b"x")
        target.chmod(0o666)
    assert _cache_file(grammar_text()) == where
    assert not target.is_symlink() and not target.exists()  # removed, to be rebuilt


def test_a_cache_file_of_another_user_is_never_loaded(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Root chowns the file to another user; anyone else sees it owned by another user
    through ``os.lstat`` (so this runs, and can fail, as every user)."""
    import qwhere.parser as parser_module

    where = _cache_file(grammar_text())
    assert where is not None
    Path(where).write_bytes(b"x")
    Path(where).chmod(0o600)
    if os.getuid() == 0:
        os.chown(where, 4321, -1)
    else:
        real_lstat = os.lstat

        def lstat(path: str) -> os.stat_result:
            found = real_lstat(path)
            if os.fspath(path) != where:
                return found
            fields = list(found)
            fields[4] = found.st_uid + 1  # st_uid
            return os.stat_result(fields)

        monkeypatch.setattr(parser_module.os, "lstat", lstat)
    assert _cache_file(grammar_text()) == where
    assert not Path(where).exists()


def test_loading_the_parser_never_runs_interegular(
    cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """interegular's collision check (120-200 ms) belongs to the strict build in the tests."""
    interegular = pytest.importorskip("interegular")
    from qwhere.parser import _build_parser

    text = grammar_text()
    where = _cache_file(text)
    assert where is not None
    _build_parser(text, where)  # writes the cache

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("interegular ran while loading qwhere's parser")

    monkeypatch.setattr(interegular.Comparator, "from_regexes", forbidden)
    parser = _build_parser(text, where)  # loads it, with qwhere's lexer
    assert parser.parse("a == 1 and b in [x, y]") is not None
