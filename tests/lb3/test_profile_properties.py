"""The conformance properties per connector profile, against real LoopBack 3 servers.

For every generated filter ``e`` and data set, loaded into the LoopBack 3 app on
PostgreSQL or MariaDB (tables made by automigrate) and read back as the server keeps
it (``truth`` is computed on the stored records: a MariaDB date has lost its
milliseconds, a number its fraction), with ``p = plan(e, connector=...)``:

1. the server's selection for ``p.where`` contains every record ``predicate(e)``
   accepts, and keeping those ``p.matches`` accepts yields exactly them;
2. when ``p.exact``, the server's selection is exactly ``predicate(e)``'s;
3. ``from_where(p.where)`` reads back every clause qwhere sends (``like`` as a
   server-only clause), and planned again for the same connector selects on the
   server at least the records ``p.where`` selects. (Equality is the memory
   engine's property: there a clause means what the reference engine says, and
   ``from_where`` reads exactly that; on a SQL connector a clause means what the
   connector makes of it, so the reading back is checked for soundness.)
4. the server accepts every clause qwhere sends (no 4xx/5xx).

Each runs for the connector's own profile and for ``connector=None`` (the default,
which must hold on every connector). The memory connector runs the same properties
through the juggler bridge (tests/conformance/test_properties.py).
"""

from __future__ import annotations

from typing import Any

import pytest
from conformance.test_properties import NOW, PROPERTIES, TYPES, datasets, filters
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from qwhere import UnsupportedWhereError, from_where, plan, predicate
from qwhere.tree import Expr
from qwhere.where import SERVER_ONLY

from .servers import LoopBackApp, ServerAnswer

#: Per SQL connector and profile: 1,000 cases at the default hypothesis profile.
EXAMPLES = max(1, settings().max_examples * 2 // 5)

#: What the SQL connectors add to the data sets: case and trailing-space twins.
TWINS = ["a ", "A ", "AB", "ab ", "RUNNING ", "running"]


@st.composite
def sql_datasets(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = draw(datasets())
    for row in rows:
        if draw(st.integers(0, 3)) == 0:
            row["name"] = draw(st.sampled_from(TWINS))
        if "n" in row and isinstance(row["n"], float):
            row["n"] = round(row["n"])  # an INTEGER column: see test_lb3_app
    return rows


def _selected(app: LoopBackApp, where: dict[str, Any]) -> set[str]:
    try:
        return set(app.ids("Probes", where=where))
    except ServerAnswer as exc:  # property 4
        raise AssertionError(f"{app.connector} refused {where}: {exc.reason}") from exc


def check_properties(
    app: LoopBackApp, connector: str | None, expr: Expr, records: list[dict[str, Any]]
) -> None:
    app.define("Probe", PROPERTIES)
    app.load("Probe", records)
    stored = app.find("Probes")
    note(f"stored: {stored}")
    the_plan = plan(expr, connector=connector, types=TYPES, now=NOW)
    note(f"filter: {expr}\nwhere: {the_plan.where}\nresidual: {the_plan.residual}")
    truth = {r["id"] for r in stored if predicate(expr, types=TYPES, now=NOW)(r)}
    selected = _selected(app, the_plan.where)
    # 1. superset, and Plan.matches finishes the job exactly
    assert truth <= selected, f"missed {sorted(truth - selected)}"
    kept = {r["id"] for r in stored if r["id"] in selected and the_plan.matches(r)}
    assert kept == truth
    # 2. exact plans select exactly
    if the_plan.exact:
        assert selected == truth, f"exact plan selected {sorted(selected - truth)} too"
    # 3. the clause read back and planned again loses nothing on the server
    back = from_where(the_plan.where, types=TYPES)
    try:
        replan = plan(back, connector=connector, types=TYPES, now=NOW)
    except UnsupportedWhereError as exc:
        # the one refusal allowed: a like (server-only) in an or beside a client-side part
        assert "can only be judged by the server" in str(exc)
        assert _like_inside_or(the_plan.where), the_plan.where
        return
    assert selected <= _selected(app, replan.where)


def _like_inside_or(where: Any, inside: bool = False) -> bool:
    if isinstance(where, list):
        return any(_like_inside_or(item, inside) for item in where)
    if not isinstance(where, dict):
        return False
    for key, clause in where.items():
        if key in ("and", "or"):
            if _like_inside_or(clause, inside or key == "or"):
                return True
        elif inside and isinstance(clause, dict) and set(clause) & SERVER_ONLY:
            return True
    return False


@pytest.mark.parametrize("lb3_app", ["postgresql", "mysql"], indirect=True)
@pytest.mark.parametrize("own_profile", [True, False], ids=["own-profile", "default-profile"])
@given(expr=filters, records=sql_datasets())
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
def test_plans_agree_with_the_sql_server(
    lb3_app: LoopBackApp, own_profile: bool, expr: Expr, records: list[dict[str, Any]]
) -> None:
    check_properties(lb3_app, lb3_app.connector if own_profile else None, expr, records)
