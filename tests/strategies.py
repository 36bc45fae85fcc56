"""Hypothesis strategies for filter trees, shared by the language and conformance tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import strategies as st

from qwhere.tree import (
    FALSE,
    TRUE,
    Between,
    Compare,
    Exists,
    Expr,
    In,
    Match,
    Not,
    Quantified,
    all_of,
    any_of,
)
from qwhere.values import RelativeTime

names = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True) | st.sampled_from(
    ["status", "tags", "backend", "and", "true", "now", "odd-name", "名前", "x y", "a'b\"c"]
)
paths = st.lists(names, min_size=1, max_size=3).map(tuple)

#: What tags and names look like: barewords with dotted parts (v1.2, run-2024.01), and near
#: misses that must be quoted (a keyword first, a trailing dot, a leading digit).
barewords = st.from_regex(
    r"[a-zA-Z_é][a-z0-9_-]{0,4}(\.[a-z0-9_-]{1,4}){0,3}", fullmatch=True
) | st.sampled_from(
    [
        "v1.2",
        "run-2024.01",
        "ibm_kyoto",
        "v1.2-rc1",
        "a.-b",
        "a.b.1.c",
        "and.1",
        "now.5",
        "true.1",
        "now-7d.1",
        "v1.",
        "v1..2",
        "1.2",
        "2024-01-01.x",
        "in-1.2",
    ]
)
texts = (
    st.text(max_size=12)
    | st.sampled_from(
        [
            "RUNNING",
            "and",
            "NOT",
            "now - 7d",
            "today+1d",
            "exp-1",
            "a.b",
            "1",
            "2024-01-01",
            "",
            "é",
        ]
    )
    | barewords
)
ints = st.integers(min_value=-(10**12), max_value=10**12)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
    lambda m: timezone(timedelta(minutes=m))
)
naive_datetimes = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1))
aware_datetimes = st.builds(
    lambda d, tz: d.replace(tzinfo=tz), naive_datetimes, offsets | st.just(UTC)
)
dates = st.dates(min_value=date(1971, 1, 1), max_value=date(2200, 1, 1))
relatives = st.builds(RelativeTime, st.just("now"), st.integers(-(10**8), 10**8)) | st.builds(
    lambda d: RelativeTime("today", d * 86400), st.integers(-1000, 1000)
)

scalars = st.one_of(
    texts,
    ints,
    floats,
    st.booleans(),
    st.none(),
    naive_datetimes,
    aware_datetimes,
    dates,
    relatives,
)
value_lists = st.lists(scalars, max_size=4)
patterns = st.sampled_from(
    [
        "^bell",
        "a/b",
        "x\\/y",
        "[a-z]+\\d",
        "a|b",
        "\\.",
        "^$",
        "é+",
        "(ab)*c",
        "line\nbreak",
        "",
        # JavaScript reads these braces and brackets as text
        "a{,2}",
        "x{",
        "}+",
        "]",
        "a{2}",
    ]
)
flags = st.sampled_from(["", "i", "m", "s", "im", "ims"])

conditions: st.SearchStrategy[Expr] = st.one_of(
    st.builds(Compare, paths, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), scalars),
    st.builds(In, paths, value_lists),
    st.builds(Quantified, paths, st.sampled_from(["all", "any", "none"]), value_lists),
    st.builds(Match, paths, patterns, flags),
    st.builds(Between, paths, scalars, scalars),
    st.builds(Exists, paths),
    st.sampled_from([TRUE, FALSE]),
)


def trees_of(
    leaves: st.SearchStrategy[Expr], *, max_leaves: int, width: int
) -> st.SearchStrategy[Expr]:
    """Random trees of ``leaves`` joined by and/or (up to ``width`` operands) and not."""

    def combine(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
        many = st.lists(children, min_size=2, max_size=width)
        return st.one_of(
            many.map(lambda ops: all_of(*ops)),
            many.map(lambda ops: any_of(*ops)),
            children.map(Not),
        )

    return st.recursive(leaves, combine, max_leaves=max_leaves)


trees = trees_of(conditions, max_leaves=12, width=4)
