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


def test_readme_test_command_is_what_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"^```(?:bash|sh|console)\n(.*?)^```", readme, re.DOTALL | re.MULTILINE)
    test_command = next(c.strip() for c in commands if "pytest" in c)
    assert test_command in ci.splitlines()
