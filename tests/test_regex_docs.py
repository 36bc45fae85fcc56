"""What docs/language.md and docs/semantics.md say about named groups is what the engine does."""

from __future__ import annotations

import pytest

import qwhere
from qwhere import parse, plan, predicate, schemas


def test_javascript_named_groups_are_accepted_and_mean_what_they_mean_in_javascript() -> None:
    text = r"name ~ /(?<year>20\d\d)-\k<year>/"
    assert str(parse(text)) == text
    keep = predicate(text)
    assert keep({"name": "run-2024-2024"}) and not keep({"name": "run-2024-2025"})
    # the memory connector runs JavaScript's RegExp: sent as it is, exactly
    sent = plan(text, schemas.JOBS, connector="memory")
    assert sent.exact and sent.where == {"name": {"regexp": r"/(?<year>20\d\d)-\k<year>/"}}


@pytest.mark.parametrize("pattern", [r"(?P<year>\d)", r"\Ab", r"b\Z"])
def test_python_only_syntax_is_refused(pattern: str) -> None:
    with pytest.raises(qwhere.FilterValueError, match="Python-only"):
        parse(f"name ~ /{pattern}/")
