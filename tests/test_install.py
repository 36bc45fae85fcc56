"""The wheel, installed into a fresh virtual environment, runs the README's main job.

Run from a directory outside the checkout, so only what the wheel ships is used
(the grammar included).
"""

from __future__ import annotations

import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _readme_main_job() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)\n```", readme, re.DOTALL)
    assert first is not None
    command = first.group(1).strip()
    assert command.startswith("python -m pip install . && ")
    return command.split(" && ", 1)[1]


@pytest.mark.timeout(600)
def test_wheel_in_a_fresh_venv_runs_the_main_job(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("qwhere-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    # the README's command, as a user types it (the script from the fresh venv)
    main_job = _readme_main_job()
    assert main_job.startswith("qwhere jobs --where ")
    filter_text = main_job.split("--where ", 1)[1].strip().strip('"')
    result = subprocess.run(
        [str(env_dir / "bin" / "qwhere"), "jobs", "--where", filter_text],
        cwd=outside,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "built-in demo service" in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "status", "created", "tags", "backend", "name"]
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == 10
    assert all(row[1] in ("RUNNING", "ERROR") for row in rows)
    # the grammar really came from the wheel, not from this checkout
    where = subprocess.run(
        [str(python), "-c", "import qwhere.parser as p; print(p.grammar_path())"],
        cwd=outside,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert str(env_dir) in where and str(ROOT) not in where
