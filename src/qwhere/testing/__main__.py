"""``python -m qwhere.testing``: run a demo service in the foreground.

Prints the base URL on the first line of standard output, then serves until
interrupted (or until standard input closes, with ``--until-stdin-closes``).
"""

from __future__ import annotations

import argparse
import sys
import time

from .server import FAULT_KINDS, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qwhere.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--page-cap", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--faults", type=float, default=0.0, help="rate of failing requests")
    parser.add_argument("--fault-kinds", default=",".join(FAULT_KINDS))
    parser.add_argument("--token", default=None)
    parser.add_argument("--order", default="memory", choices=["memory", "postgresql", "mysql"])
    parser.add_argument("--until-stdin-closes", action="store_true")
    args = parser.parse_args(argv)
    options = {
        "jobs": args.jobs,
        "seed": args.seed,
        "page_cap": args.page_cap,
        "latency": args.latency,
        "faults": args.faults,
        "fault_kinds": tuple(k for k in args.fault_kinds.split(",") if k),
        "token": args.token,
        "order": args.order,
    }
    with serve(host=args.host, port=args.port, **options) as url:
        print(url, flush=True)
        try:
            if args.until_stdin_closes:
                sys.stdin.read()
            else:
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
