"""A mutation run: plant plausible one-line bugs, one at a time, and see which the tests catch.

Each mutation is a textual replacement in one file of a temporary copy of the worktree
(the ``old`` text must occur exactly once). The copy's ``src`` is put first on
``PYTHONPATH``, so both the tests and the ``qwhere`` script of the virtual environment
import the mutated package. For each mutation the runner runs, with ``CI=true``, a fresh
hypothesis database and a time limit, the test files that should catch it plus a fast
global subset (:data:`GLOBAL`), stopping at the first failure, and prints a table.

Not part of the default test run. Usage (from the repository root, in the venv):

    python benchmarks/mutation.py              # every mutation, sequentially
    python benchmarks/mutation.py -k between   # the mutations whose id contains "between"
    python benchmarks/mutation.py --list
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: run with every mutation: fast files that touch most of the tree
GLOBAL = (
    "tests/test_plan.py",
    "tests/test_language.py",
    "tests/test_errors.py",
    "tests/test_models_dates.py",
)


@dataclass(frozen=True)
class Mutation:
    id: str
    path: str  # under src/qwhere
    old: str
    new: str
    tests: tuple[str, ...]
    what: str


ENGINE = "tests/conformance/test_engine_truth.py"
PROPS = "tests/conformance/test_properties.py"
CLI = "tests/test_cli_options.py"
M = Mutation
MUTATIONS: list[Mutation] = [
    # -- the four bugs of issue 13 -------------------------------------------------------
    M(
        "cli-skip-ignored",
        "cli.py",
        "            skip=args.skip,",
        "            skip=0,",
        (CLI,),
        "the CLI ignores --skip",
    ),
    M(
        "models-naive-local",
        "models.py",
        "return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)",
        "return parsed if parsed.tzinfo is not None else parsed.astimezone()",
        (),
        "naive server dates read as local time",
    ),
    M(
        "between-low-exclusive",
        "loopback/generator.py",
        '        return _exact({key: {"between": self.values(node.field, (low, high))}})',
        '        return _exact({"and": [{key: {op: v}} for op, v in zip(("gt", "lte"), '
        "self.values(node.field, (low, high)), strict=True)]})",
        (ENGINE,),
        "between's lower bound exclusive in the LoopBack compiler",
    ),
    M(
        "jsregex-unicode-digits",
        "jsregex.py",
        "_DIGIT: Ranges = ((0x30, 0x39),)",
        "_DIGIT: Ranges = ((0x30, 0x39), (0x660, 0x669), (0x6F0, 0x6F9), (0x966, 0x96F))",
        (ENGINE,),
        "\\d matches Unicode digits",
    ),
    # -- CLI --------------------------------------------------------------------------------
    M(
        "cli-backend-ignored",
        "cli.py",
        "            backend_name=args.backend,",
        "            backend_name=None,",
        (CLI,),
        "the CLI ignores --backend",
    ),
    M(
        "cli-name-ignored",
        "cli.py",
        "            job_name=args.name,",
        "            job_name=None,",
        (CLI,),
        "the CLI ignores --name",
    ),
    M(
        "cli-ascending-inverted",
        "cli.py",
        "            descending=not args.ascending,",
        "            descending=args.ascending,",
        (CLI,),
        "--ascending inverted",
    ),
    M(
        "cli-until-exclusive",
        "cli.py",
        'parts.append(_value_of(args.until, "<="))',
        'parts.append(_value_of(args.until, "<"))',
        (CLI,),
        "--until exclusive",
    ),
    M(
        "cli-min-qubits-ignored",
        "cli.py",
        "min_num_qubits=args.min_qubits,",
        "min_num_qubits=None,",
        (CLI,),
        "backends --min-qubits ignored",
    ),
    # -- language / text ------------------------------------------------------------------
    M(
        "text-quote-backslash",
        "text.py",
        '            out.append("\\\\\\\\")',
        '            out.append("\\\\")',
        ("tests/test_roundtrip.py",),
        "a backslash in a quoted string printed unescaped",
    ),
    M(
        "text-and-precedence",
        "text.py",
        '" and ".join(self.wrap(op, _NOT) for op in node.operands)',
        '" and ".join(self.wrap(op, _OR) for op in node.operands)',
        ("tests/test_roundtrip.py",),
        "an or inside an and printed without parentheses",
    ),
    M(
        "text-not-in",
        "text.py",
        'return _ATOM, f"{format_field(inner.field)} not in {format_list(inner.values)}"',
        'return _ATOM, f"{format_field(inner.field)} in {format_list(inner.values)}"',
        ("tests/test_roundtrip.py",),
        "not in printed as in",
    ),
    # -- evaluator -------------------------------------------------------------------------
    M(
        "eval-between-high-exclusive",
        "evaluator.py",
        "{self.order(e, '<=', node.high)})\",",
        "{self.order(e, '<', node.high)})\",",
        (ENGINE,),
        "predicate: between's upper bound exclusive",
    ),
    M(
        "eval-none-is-any",
        "evaluator.py",
        'body = "not (" + (" or ".join(has) or "False") + ")"',
        'body = "not (" + (" and ".join(has) or "False") + ")"',
        (ENGINE,),
        "predicate: tags none [a, b] as not all",
    ),
    M(
        "eval-null-order",
        "evaluator.py",
        '            return "False"  # LoopBack: ordering against null never holds',
        '            return "True"  # LoopBack: ordering against null never holds',
        (ENGINE, PROPS),
        "predicate: ordering against null holds",
    ),
    M(
        "eval-neq-empty-list",
        "evaluator.py",
        'f"((not {v} or any(not',
        'f"((any(not',
        (PROPS,),
        "predicate: != on an empty list",
    ),
    M(
        "eval-date-order",
        "evaluator.py",
        'return f"(({d} := _dt({e})) is not None and {d} {op} {c})"',
        'return f"(({d} := _dt({e})) is not None and {d} {op} {c} and {d}.microsecond == 0)"',
        (ENGINE,),
        "predicate: dates with milliseconds never ordered",
    ),
    # -- compilers per profile --------------------------------------------------------------
    M(
        "gen-order-swap",
        "loopback/generator.py",
        '_ORDER_OPS = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}',
        '_ORDER_OPS = {"<": "lt", "<=": "lt", ">": "gt", ">=": "gte"}',
        (ENGINE,),
        "compiler: <= sent as lt",
    ),
    M(
        "gen-negated-order",
        "loopback/generator.py",
        '_NEGATED_ORDER = {"<": "gte", "<=": "gt", ">": "lte", ">=": "lt"}',
        '_NEGATED_ORDER = {"<": "gt", "<=": "gt", ">": "lte", ">=": "lt"}',
        (ENGINE,),
        "compiler: not (a < x) sent as gt",
    ),
    M(
        "gen-not-between-null",
        "loopback/generator.py",
        '{"or": [{key: {"lt": low}}, {key: {"gt": high}}, {key: None}]}',
        '{"or": [{key: {"lt": low}}, {key: {"gt": high}}]}',
        (PROPS,),
        "compiler: not between loses null/missing",
    ),
    M(
        "gen-widen-gte",
        "loopback/generator.py",
        '            return Pushed({key: {"gte": low}}, False, reason)',
        '            return Pushed({key: {"gt": low}}, False, reason)',
        (ENGINE,),
        "compiler: a sub-ms bound widened to gt",
    ),
    M(
        "profile-memory-neq-null",
        "loopback/profiles.py",
        'in JavaScript",\n    neq_selects_null=True,',
        'in JavaScript",\n    neq_selects_null=False,',
        (PROPS,),
        "memory profile: neq does not select null",
    ),
    M(
        "profile-mysql-case",
        "loopback/profiles.py",
        '    string_order="case_insensitive",',
        '    string_order="codepoint",',
        ("tests/test_profiles.py",),
        "mysql profile: ids and strings ordered by code point",
    ),
    M(
        "profile-pg-string-order",
        "loopback/profiles.py",
        '    string_order="codepoint",',
        '    string_order="utf16",',
        ("tests/test_profiles.py",),
        "postgresql profile: strings in UTF-16 order",
    ),
    # -- from_where -----------------------------------------------------------------------
    M(
        "where-order-map",
        "where.py",
        '_ORDER = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}',
        '_ORDER = {"gt": ">=", "gte": ">=", "lt": "<", "lte": "<="}',
        ("tests/conformance/test_from_where.py",),
        "from_where: gt read as >=",
    ),
    M(
        "where-nin-not",
        "where.py",
        '        return node if op == "inq" else Not(node)',
        "        return node",
        ("tests/conformance/test_from_where.py",),
        "from_where: nin read as inq",
    ),
    M(
        "where-null-gte",
        "where.py",
        'return Compare(path, "==", None) if op in ("gte", "lte") else FALSE',
        "return FALSE",
        (ENGINE, "tests/conformance/test_from_where.py"),
        "from_where: gte null selects nothing",
    ),
    # -- status, models, client/pagination -------------------------------------------------
    M(
        "status-queued",
        "status.py",
        '    JobStatus.QUEUED: ("PENDING_IN_QUEUE", "QUEUED"),',
        '    JobStatus.QUEUED: ("QUEUED",),',
        (CLI,),
        "QUEUED misses PENDING_IN_QUEUE",
    ),
    M(
        "status-error-prefix",
        "status.py",
        "        return JobStatus.ERROR\n",
        "        return JobStatus.RUNNING\n",
        ("tests/test_adversarial.py",),
        "an unknown ERROR_ status read as RUNNING",
    ),
    M(
        "pagination-far-skip",
        "client/pagination.py",
        '"skip": need - 1, "limit": 1',
        '"skip": need, "limit": 1',
        ("tests/service/test_service_pagination.py",),
        "the far probe lands one record too far",
    ),
    M(
        "pagination-skip-carry",
        "client/pagination.py",
        "                self.carry = skip\n",
        "                self.carry = 0\n",
        ("tests/service/test_keyset.py", CLI),
        "a skip past a segment is dropped",
    ),
    M(
        "pagination-final-page",
        "client/pagination.py",
        "final = n == 0 or n < min(ask, largest)",
        "final = n == 0 or n <= min(ask, largest)",
        ("tests/service/test_service_arguments.py", CLI),
        "a full page taken for the last",
    ),
    M(
        "models-offset-dropped",
        "models.py",
        "return parsed if parsed.tzinfo is not None",
        "return parsed.replace(tzinfo=UTC) if parsed.tzinfo is not None",
        (),
        "an offset dropped (read as UTC)",
    ),
]


def _copy(dest: Path) -> None:
    ignore = shutil.ignore_patterns(
        ".venv", ".ci-venv", "node_modules", ".git", ".hypothesis", "__pycache__", "*.egg-info"
    )
    for name in ("src", "tests", "grammar", "pyproject.toml", "docs", "README.md"):
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        elif src.exists():
            shutil.copy2(src, dest / name)
    for app in ("tests/conformance", "tests/lb3"):
        modules = ROOT / app / "node_modules"
        if modules.exists():
            (dest / app / "node_modules").symlink_to(modules)


def run(mutation: Mutation, work: Path, limit: float) -> tuple[str, float, str]:
    target = work / "src" / "qwhere" / mutation.path
    original = target.read_text("utf-8")
    if original.count(mutation.old) != 1:
        return "BAD", 0.0, f"old text occurs {original.count(mutation.old)} times"
    target.write_text(original.replace(mutation.old, mutation.new), "utf-8")
    shutil.rmtree(work / ".hypothesis", ignore_errors=True)
    env = dict(os.environ, CI="true", PYTHONPATH=str(work / "src"), QWHERE_NO_PARSER_CACHE="1")
    tests = list(dict.fromkeys([*mutation.tests, *GLOBAL]))
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider"]
    cmd += ["--hypothesis-profile=mutation", *tests]  # the default's examples, no shrinking
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=limit)
        outcome = "survived" if done.returncode == 0 else "caught"
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("FAILED")]
        last = done.stdout.strip().splitlines()[-1:] or [""]
        detail = lines[0].removeprefix("FAILED ")[:90] if lines else last[0][:90]
        if done.returncode not in (0, 1):
            outcome, detail = "error", (done.stdout + done.stderr).strip()[-200:]
    except subprocess.TimeoutExpired:
        outcome, detail = "timeout", f"over {limit:.0f}s"
    finally:
        target.write_text(original, "utf-8")
    return outcome, time.monotonic() - start, detail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-k", default="", help="only mutations whose id contains this")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per mutation")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if args.k in m.id]
    if args.list:
        for m in chosen:
            print(f"{m.id:28} {m.path:24} {m.what}")
        return 0
    with tempfile.TemporaryDirectory(prefix="qwhere-mutation-") as tmp:
        work = Path(tmp)
        _copy(work)
        print(f"{'mutation':28} {'file':24} {'result':9} {'secs':>5}  caught by / detail")
        print("-" * 110)
        results = []
        for m in chosen:
            outcome, secs, detail = run(m, work, args.timeout)
            results.append(outcome)
            print(f"{m.id:28} {m.path:24} {outcome:9} {secs:5.1f}  {detail}", flush=True)
    survived = [m.id for m, r in zip(chosen, results, strict=True) if r != "caught"]
    print("-" * 110)
    print(f"{len(chosen)} mutations, {len(chosen) - len(survived)} caught; not caught: {survived}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
