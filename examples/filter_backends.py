"""Filter backends with the seed's keyword arguments, a lambda and the text language, together.

``provider.backends(...)`` keeps the seed API: ``name``, ``min_num_qubits``, ``input_allowed``,
simple ``key=value`` filters on configuration and status fields, and ``filters=`` (any Python
callable, given each ``Backend``). qwhere adds ``where=`` (text or ``Q``) and ANDs everything.
This script lists the demo service's backends, then narrows them down step by step, printing
each result and checking it; it also shows that a misspelt keyword is an error (the seed
silently returned no backend) and that one request fetches configurations and statuses.

Run it from anywhere: ``python examples/filter_backends.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import qwhere
from qwhere import Q, UnknownFieldError
from qwhere.testing import serve


def table(title: str, backends: list[qwhere.Backend]) -> None:
    print(f"{title}: {len(backends)}")
    for b in backends:
        config, status = b.configuration(), b.status()
        qv = config.get("quantum_volume", "-")
        inputs = ",".join(config.get("input_allowed", ()))
        print(
            f"  {b.name:<22} {config.n_qubits:>4} qubits  QV {qv!s:>3}  "
            f"{'simulator' if config.simulator else 'device':<9}  "
            f"{'up' if status.operational else 'down':<4}  {status.pending_jobs:>3} pending  "
            f"{inputs}"
        )
    print()


def high_volume(backend: qwhere.Backend) -> bool:
    """The seed's example lambda, made safe for backends without a quantum volume."""
    return backend.configuration().get("quantum_volume", 0) >= 32


def parse_text(text: str) -> qwhere.Expr:
    """Text and ``Q`` mix: a parsed filter is a tree like any other."""
    return qwhere.parse(text, schema=qwhere.schemas.BACKENDS)


def main() -> None:
    with serve() as url, qwhere.connect(url) as provider:
        everything = provider.backends()
        table("all backends", everything)

        # each call ANDs all it is given; the kwargs are the seed's "simple filters"
        calls: list[tuple[str, dict[str, Any], Callable[[qwhere.Backend], bool]]] = [
            (
                "kwargs: n_qubits=5, operational=True",
                {"n_qubits": 5, "operational": True},
                lambda b: b.n_qubits == 5 and b.operational,
            ),
            (
                "min_num_qubits=7, input_allowed='runtime', simulator=False",
                {"min_num_qubits": 7, "input_allowed": "runtime", "simulator": False},
                lambda b: (
                    (b.n_qubits or 0) >= 7
                    and "runtime" in b.configuration().input_allowed
                    and not b.simulator
                ),
            ),
            (
                "filters=high_volume, where='operational and pending_jobs < 100'",
                {"filters": high_volume, "where": "operational and pending_jobs < 100"},
                lambda b: high_volume(b) and b.operational and b.status().pending_jobs < 100,
            ),
            (
                "all at once: kwargs + a lambda + text + Q",
                {
                    "operational": True,
                    "input_allowed": ["job"],
                    "filters": lambda b: not b.name.startswith("ibmq_"),
                    "where": (Q.n_qubits >= 7) & parse_text("not simulator"),
                },
                lambda b: (
                    b.operational
                    and "job" in b.configuration().input_allowed
                    and not b.name.startswith("ibmq_")
                    and (b.n_qubits or 0) >= 7
                    and not b.simulator
                ),
            ),
        ]
        for title, arguments, check in calls:
            service = url.service
            service.reset_log()
            found = provider.backends(**arguments)
            table(title, found)
            assert found, title
            assert found == [b for b in everything if check(b)], title
            # configurations and statuses come in one request (the seed: one per backend)
            assert [r.route for r in service.log] == ["/Backends"]

        try:
            provider.backends(n_qbits=5)
        except UnknownFieldError as err:
            print(f"a misspelt keyword is an error, not an empty list:\n  {err}")
        else:
            raise AssertionError("n_qbits should have been refused")


if __name__ == "__main__":
    main()
