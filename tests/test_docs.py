"""The docs are part of the product: every code block runs, every table row is checked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def python_blocks(path: Path) -> list[str]:
    return [m.group(1) for m in _BLOCK.finditer(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_python_block_runs(
    doc: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks of one file run in order in one namespace, like a reader pasting them."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for number, block in enumerate(python_blocks(doc), 1):
        try:
            exec(compile(block, f"{doc.name}[block {number}]", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the failure message is the point
            raise AssertionError(f"{doc.name}, python block {number} failed: {exc!r}") from exc


#: The first line of a block that continues the one above it (it uses its names).
CONTINUES = "# continues the block above"


def _chains() -> list[tuple[str, int, list[str]]]:
    """Each block with what a reader needs to run it alone: itself, or (when it says it
    continues the block above) the blocks back to the last one that stands alone."""
    found = []
    for doc in DOCS:
        blocks = python_blocks(doc)
        for number in range(1, len(blocks) + 1):
            start = number
            while start > 1 and blocks[start - 1].startswith(CONTINUES):
                start -= 1
            assert not blocks[start - 1].startswith(CONTINUES), f"{doc.name}: block 1 continues?"
            found.append((doc.name, number, blocks[start - 1 : number]))
    return found


@pytest.mark.parametrize(
    ("doc", "number", "chain"), _chains(), ids=lambda v: str(v) if not isinstance(v, list) else ""
)
def test_every_python_block_runs_alone(
    doc: str, number: int, chain: list[str], tmp_path: Path
) -> None:
    """Pasted alone into a fresh interpreter (with the blocks it says it continues), a block
    runs and the interpreter exits: no name from another block, no service left running."""
    script = tmp_path / "block.py"
    script.write_text("\n".join(chain), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert result.returncode == 0, f"{doc}, python block {number} alone: {result.stderr[-2000:]}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_every_example_runs(example: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), f"{example.name} printed nothing"


@pytest.fixture
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _table_rows() -> list[tuple[str, str, str]]:
    rows = []
    text = (ROOT / "docs" / "loopback.md").read_text(encoding="utf-8")
    for line in text.splitlines():
        m = re.match(r"^\| `(.+?)` \| `(.+?)` \| (exact|residual: `.+?`) \|", line)
        if m:
            rows.append((m.group(1), m.group(2), m.group(3)))
    return rows


def test_loopback_table_has_rows() -> None:
    assert len(_table_rows()) >= 40


@pytest.mark.parametrize(("text", "where", "verdict"), _table_rows(), ids=lambda v: str(v)[:40])
def test_loopback_table_row_is_what_the_compiler_does(
    utc_local_time: None, text: str, where: str, verdict: str
) -> None:
    from qwhere import plan, schemas

    p = plan(text, schemas.JOBS, connector="memory", now=datetime(2024, 6, 1, 12, 0, tzinfo=UTC))
    assert p.where == json.loads(where)
    if verdict == "exact":
        assert p.exact
    else:
        assert f"residual: `{p.residual}`" == verdict


_PROFILE_COLUMNS = ["memory", "postgresql", "mysql", None]
_PROFILE_ROW = re.compile(r"^\| `(?P<construct>[^`]+)` \| (?P<cells>.+) \|$")
_CELL = re.compile(r"^(?:`(?P<clause>.+)` (?P<verdict>exact|superset)|(?P<client>client))$")


def _profile_tables() -> tuple[list[tuple[str, list[str]]], list[tuple[str, str, str]]]:
    text = (ROOT / "docs" / "loopback.md").read_text(encoding="utf-8")
    section = text.split("## One meaning, a profile per connector", 1)[1].split("\n## ", 1)[0]
    cells: list[tuple[str, list[str]]] = []
    reasons: list[tuple[str, str, str]] = []
    for line in section.splitlines():
        m = _PROFILE_ROW.match(line)
        if not m:
            continue
        parts = [c.strip() for c in re.split(r"(?<!\\)\|", m.group("cells"))]
        if len(parts) == 4:
            cells.append((m.group("construct"), [c.replace("\\|", "|") for c in parts]))
        elif len(parts) == 2:
            reasons.append((m.group("construct"), parts[0], parts[1]))
    return cells, reasons


def _plan_for(construct: str, connector: str | None) -> Any:
    from qwhere import plan, schemas

    return plan(
        construct, schemas.JOBS, connector=connector, now=datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    )


def test_the_profile_table_has_every_profile_and_enough_rows() -> None:
    cells, reasons = _profile_tables()
    assert len(cells) >= 30 and len(reasons) >= 30


@pytest.mark.parametrize(("construct", "cells"), _profile_tables()[0], ids=lambda v: str(v)[:30])
def test_each_profile_cell_is_what_the_compiler_does(construct: str, cells: list[str]) -> None:
    for connector, cell in zip(_PROFILE_COLUMNS, cells, strict=True):
        m = _CELL.match(cell)
        assert m, cell
        p = _plan_for(construct, connector)
        if m.group("client"):
            assert p.where == {} and not p.exact, (connector, construct)
        else:
            assert p.where == json.loads(m.group("clause")), (connector, construct)
            assert p.exact == (m.group("verdict") == "exact"), (connector, construct)


def test_each_reason_row_is_what_explain_says() -> None:
    _, reasons = _profile_tables()
    for construct, connector, why in reasons:
        p = _plan_for(construct, None if connector == "default" else connector)
        said = "; ".join(dict.fromkeys(x.reason for x in p.parts if x.reason and not x.exact))
        assert said == why, (construct, connector)


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^```(?:bash|sh|console)\n(.*?)^```", readme, re.DOTALL | re.MULTILINE)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    assert test_command in ci.splitlines()
