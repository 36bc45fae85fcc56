"""The recorded LoopBack probes (probes.json) replayed through the engine.

probes.json holds the model, the ten records and rows #1-#125 of the probe
table observed on loopback-datasource-juggler 7.0.3 (memory connector, TZ=UTC),
plus the two count() observations and rows #126-#133, which need JS values
(RegExp, Date) and are sent with the bridge's ``revive`` encoding.

``fidelity_probes`` (#201 on) each bring their own records, recorded on the same engine,
and are read by qwhere as well: the filter text (``qwhere``) and ``from_where`` of the
clause (with the types of the model's properties, or none for ``untyped``) select exactly
the recorded records, or qwhere refuses them (``"from_where": "refused"``; ``"pattern":
"refused"``: the filter language refuses the regular expression too).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from qwhere import FieldType, from_where, parse, predicate
from qwhere.errors import FilterError, UnsupportedWhereError

from .engine import EngineResult, LoopBackEngine

DATA: dict[str, Any] = json.loads((Path(__file__).parent / "probes.json").read_text("utf-8"))
PROPERTIES: dict[str, Any] = DATA["properties"]
RECORDS: list[dict[str, Any]] = DATA["records"]


def _param(probe: dict[str, Any]) -> Any:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", probe["probe"]).strip("-").lower()
    return pytest.param(probe, id=f"{probe['n']:03d}-{slug}")


def _warning_matches(recorded: str, actual: str) -> bool:
    """The table records console.warn's format string, cut short; ``actual`` is
    the formatted message.  Every literal piece must appear, in order."""
    pos = 0
    for piece in re.split(r"%[sdjifoOc%]", recorded):
        found = actual.find(piece, pos)
        if found < 0:
            return False
        pos = found + len(piece)
    return True


def _check(probe: dict[str, Any], result: EngineResult) -> None:
    if "error" in probe:
        expected = probe["error"]
        assert result.error is not None, f"expected error, got ids {result.ids}"
        assert expected["message"] in result.error
        assert result.status == expected["status"]
    else:
        assert result.error is None, f"unexpected error: {result}"
        assert result.ids is not None
        if probe["ordered"]:
            assert result.ids == probe["ids"]
        else:
            assert sorted(result.ids) == sorted(probe["ids"])
            assert len(result.ids) == len(set(result.ids))

    if "warning" in probe:
        assert any(_warning_matches(probe["warning"], w) for w in result.warnings), result.warnings
    else:
        assert result.warnings == []


@pytest.mark.parametrize("probe", [_param(p) for p in DATA["probes"]])
def test_probe(engine: LoopBackEngine, probe: dict[str, Any]) -> None:
    filt = probe["filter"]
    if isinstance(filt, dict) and set(filt) == {"where"}:
        result = engine.select(PROPERTIES, RECORDS, filt["where"])
    else:
        result = engine.find(PROPERTIES, RECORDS, filt)
    _check(probe, result)


@pytest.mark.parametrize("probe", [_param(p) for p in DATA["js_only_probes"]])
def test_js_only_probe(engine: LoopBackEngine, probe: dict[str, Any]) -> None:
    _check(probe, engine.find(PROPERTIES, RECORDS, probe["filter"], revive=True))


@pytest.mark.parametrize("case", DATA["count_probes"], ids=lambda c: json.dumps(c["where"]))
def test_count_probe(engine: LoopBackEngine, case: dict[str, Any]) -> None:
    result = engine.count(PROPERTIES, RECORDS, case["where"])
    assert result.error is None, result
    assert result.count == case["count"]


def test_select_with_order_matches_find(engine: LoopBackEngine) -> None:
    where = {"status": {"neq": "QUEUED"}}
    via_select = engine.select(PROPERTIES, RECORDS, where, order=["status ASC", "name DESC"])
    via_find = engine.find(
        PROPERTIES, RECORDS, {"where": where, "order": ["status ASC", "name DESC"]}
    )
    assert via_select == via_find
    assert via_select.ids is not None and len(via_select.ids) == 9


def test_records_are_replaced_between_calls(engine: LoopBackEngine) -> None:
    first = engine.select(PROPERTIES, RECORDS[:3], {})
    assert first.ids == ["j01", "j02", "j03"]
    second = engine.select(PROPERTIES, RECORDS[5:], {})
    assert second.ids == ["j06", "j07", "j08", "j09", "j10"]
    empty = engine.select(PROPERTIES, [], {})
    assert empty.ids == []


# ---------------------------------------------------------------------------------------------
# fidelity probes: small data sets of their own, each read by qwhere too

_TYPE_NAMES = {
    "string": FieldType.STRING,
    "number": FieldType.NUMBER,
    "boolean": FieldType.BOOL,
    "date": FieldType.DATETIME,
}


def _types(properties: dict[str, Any]) -> dict[tuple[str, ...], FieldType]:
    """The qwhere types of a LoopBack model's top-level properties."""
    types: dict[tuple[str, ...], FieldType] = {}
    for name, spec in properties.items():
        kind = spec["type"]
        if kind == ["string"]:
            types[(name,)] = FieldType.STRING_LIST
        elif isinstance(kind, str) and kind in _TYPE_NAMES and not spec.get("id"):
            types[(name,)] = _TYPE_NAMES[kind]
    return types


def _fparam(probe: dict[str, Any]) -> Any:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", probe["probe"]).strip("-").lower()
    return pytest.param(probe, id=f"{probe['n']:03d}-{slug}")


@pytest.mark.parametrize("probe", [_fparam(p) for p in DATA["fidelity_probes"]])
def test_fidelity_probe(engine: LoopBackEngine, probe: dict[str, Any]) -> None:
    """The engine still selects what was recorded, and qwhere selects the same records (or
    refuses the clause or the filter, where it cannot mirror the engine)."""
    properties = probe.get("properties", DATA["fidelity_properties"])
    records = probe["records"]
    result = engine.select(properties, records, probe["where"])
    if "error" in probe:
        assert result.error is not None and probe["error"]["message"] in result.error
    else:
        assert result.error is None, result
        assert sorted(result.ids or ()) == probe["ids"]
    assert result.warnings == probe.get("warnings", [])

    types = {} if probe.get("untyped") else _types(properties)
    for path, kind in probe.get("types", {}).items():  # dotted paths the model cannot declare
        types[tuple(path.split("."))] = _TYPE_NAMES[kind]
    expected = set(probe.get("ids", ()))
    if probe["qwhere"] is not None:
        keep = predicate(probe["qwhere"], types=types)
        assert {r["id"] for r in records if keep(r)} == expected
    if probe["from_where"] == "refused":
        with pytest.raises(UnsupportedWhereError):
            from_where(probe["where"], types=types or None)
        if probe.get("pattern") == "refused":  # the filter language refuses it too
            pattern = next(iter(probe["where"].values()))["regexp"]
            with pytest.raises(FilterError):
                parse(f"x ~ {pattern}")
    else:
        assert probe["from_where"] == "exact"
        keep = predicate(from_where(probe["where"], types=types or None), types=types)
        assert {r["id"] for r in records if keep(r)} == expected
