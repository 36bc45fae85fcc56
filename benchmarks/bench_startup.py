"""Start-up time of a cold process: qwhere against ``python -c "import requests"``.

    python benchmarks/bench_startup.py [--runs 25]

Every command runs in a new interpreter, ``--runs`` times, interleaved round by round (so
all of them see the same machine load); the figures are medians (and minimums) of the
wall-clock time, in ms. The target (issue 5) is ``qwhere explain …`` at most 1.5× the
``import requests`` process. Until the CLI exists, the equivalent is measured:
``import qwhere; from qwhere import parse; parse(…)``.

The parser's per-user cache is warmed first (that is the state of every run after the
first); the one-off cost of building it with no cache is reported separately, as is an
in-process breakdown (import lark, read the grammar, load the parser, first parse).
Byte-code caches are on for every command, in a private ``PYTHONPYCACHEPREFIX`` (as after
``pip install``, which compiles them; a checkout run with ``PYTHONDONTWRITEBYTECODE`` would
otherwise compile qwhere's modules in every run, but not requests').
Not a test: nothing here fails a build (``--check`` exits 1 when the target is missed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FILTER = "status in [RUNNING, ERROR] and tags all [a,b]"
PY = sys.executable

PARSE_SNIPPET = f"import qwhere; from qwhere import parse; parse({FILTER!r})"

# Runs in a fresh interpreter; prints JSON timings (ms) of each start-up step.
BREAKDOWN = f"""
import json, sys, time
t = time.perf_counter
marks = {{}}
t0 = t()
import qwhere
marks["import qwhere"] = t() - t0
t1 = t()
import qwhere.parser as p
marks["import qwhere.parser (and lark)"] = t() - t1
t1 = t()
text = p.grammar_text()
marks["read the grammar"] = t() - t1
t1 = t()
parser = p.lark_parser()
marks["load the parser (lark_parser())"] = t() - t1
t1 = t()
p.parse({FILTER!r})
marks["first parse"] = t() - t1
marks["total"] = t() - t0
marks["lark imported"] = "lark" in sys.modules
marks["interegular imported"] = "interegular" in sys.modules
print(json.dumps(marks))
"""

LARK_ONLY = """
import json, time
t0 = time.perf_counter()
import lark.lark
print(json.dumps({"import lark": time.perf_counter() - t0}))
"""


def commands() -> dict[str, list[str]]:
    cmds = {
        "python -c pass": [PY, "-c", "pass"],
        "python -c 'import requests'": [PY, "-c", "import requests"],
        "python -c 'import qwhere; parse(...)'": [PY, "-c", PARSE_SNIPPET],
    }
    script = Path(PY).with_name("qwhere")
    if importlib.util.find_spec("qwhere.cli") is not None and script.exists():
        cmds["qwhere explain ..."] = [str(script), "explain", FILTER]
    return cmds


def run(argv: list[str], env: dict[str, str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000


def json_of(code: str, env: dict[str, str], cwd: str) -> dict[str, object]:
    out = subprocess.run(
        [PY, "-c", code], env=env, cwd=cwd, check=True, capture_output=True, text=True
    ).stdout
    data: dict[str, object] = json.loads(out)
    return data


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=25, help="runs of each command (>= 20)")
    ap.add_argument("--check", action="store_true", help="exit 1 when the target is missed")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qwhere-bench-") as cwd:  # outside the checkout
        return measure(args.runs, cwd, args.check)


def measure(runs: int, cwd: str, check: bool) -> int:
    env = dict(os.environ)
    env.pop("QWHERE_NO_PARSER_CACHE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(cwd, "pycache")
    cmds = commands()
    snippet = cmds["python -c 'import qwhere; parse(...)'"]

    for argv in cmds.values():  # warm the byte-code and parser caches, and the OS file cache
        run(argv, env, cwd)
        run(argv, env, cwd)

    times: dict[str, list[float]] = {name: [] for name in cmds}
    names = list(cmds)
    for i in range(runs):
        for name in names[i % len(names) :] + names[: i % len(names)]:  # rotating order
            times[name].append(run(cmds[name], env, cwd))

    print(f"python {sys.version.split()[0]}; {runs} runs each, interleaved; ms")
    print(f"{'command':<42} {'median':>8} {'min':>8} {'vs requests':>12}")
    base = statistics.median(times["python -c 'import requests'"])
    for name in names:
        med, low = statistics.median(times[name]), min(times[name])
        print(f"{name:<42} {med:8.1f} {low:8.1f} {med / base:11.2f}x")
    target = "qwhere explain ..." if "qwhere explain ..." in times else names[2]
    ratio = statistics.median(times[target]) / base
    ok = ratio <= 1.5
    verdict = "met" if ok else "NOT met"
    print(f"\ntarget: {target} <= 1.5x import requests: {ratio:.2f}x, {verdict}")

    print("\nbreakdown in one process (warm parser cache; median of 7 runs, ms):")
    samples = [json_of(BREAKDOWN, env, cwd) for _ in range(7)]
    for key, value in samples[0].items():
        if isinstance(value, bool):
            print(f"  {key:<36} {value}")
        else:
            print(f"  {key:<36} {statistics.median(_ms(s[key]) for s in samples):8.1f}")
    lark_only = [_ms(json_of(LARK_ONLY, env, cwd)["import lark"]) for _ in range(7)]
    print(f"  {'(import lark alone, in a new process)':<36} {statistics.median(lark_only):8.1f}")

    # The one-off cost: no parser cache yet (each run gets a new, empty cache folder).
    firsts: list[float] = []
    builds: list[float] = []
    for _ in range(5):
        with tempfile.TemporaryDirectory() as empty:
            firsts.append(run(snippet, {**env, "XDG_CACHE_HOME": empty}, cwd))
        with tempfile.TemporaryDirectory() as empty:
            marks = json_of(BREAKDOWN, {**env, "XDG_CACHE_HOME": empty}, cwd)
            builds.append(_ms(marks["load the parser (lark_parser())"]))
    print("\nno parser cache yet (a user's first run, or a new grammar); median of 5, ms:")
    print(f"  {'python -c import qwhere; parse(...)':<36} {statistics.median(firsts):8.1f}")
    print(f"  {'build the parser (lark_parser())':<36} {statistics.median(builds):8.1f}")
    return 0 if ok or not check else 1


def _ms(seconds: object) -> float:
    assert isinstance(seconds, float)
    return seconds * 1000


if __name__ == "__main__":
    sys.exit(main())
