"""``python -m qwhere.testing``: the same command as ``qwhere serve``.

Prints the base URL on the first line of standard output, then serves until
interrupted (or until standard input closes, with ``--until-stdin-closes``).
``python -m qwhere.testing --help`` lists the options (``--latency`` in milliseconds,
``--fault-rate``, ``--token``, ``--anchor``, ...).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from ..cli import main as cli_main

    return cli_main(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    raise SystemExit(main())
