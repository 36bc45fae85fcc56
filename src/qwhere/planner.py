"""The plan: what goes to the server as a LoopBack ``where``, what stays on the client.

>>> from qwhere import plan, Q
>>> p = plan("tags all [a, b] and name ~ /^bell/")
>>> p.where
{'and': [{'tags': 'a'}, {'tags': 'b'}, {'name': {'regexp': '/^bell/'}}]}
>>> p.exact
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .loopback import LoopBackGenerator, conjunction
from .resolve import Types, prepare, to_nnf, to_server
from .tree import And, Expr, FieldPath, all_of

if TYPE_CHECKING:
    from .schema import FieldType, Schema

__all__ = ["Plan", "explain", "plan"]


@attrs.frozen
class Part:
    """One top-level conjunct and where it went."""

    text: str
    where: dict[str, Any]
    exact: bool
    reason: str


@attrs.frozen
class Plan:
    """``where`` selects a superset on the server; ``residual`` (if any) finishes on the client."""

    where: dict[str, Any]
    residual: Expr | None
    parts: tuple[Part, ...] = ()
    types: Mapping[FieldPath, FieldType] = attrs.field(factory=dict, repr=False, eq=False)

    @property
    def exact(self) -> bool:
        return self.residual is None

    def __str__(self) -> str:
        lines = ["where:", _indent(json.dumps(self.where, indent=2, ensure_ascii=False))]
        lines.append("residual (checked on the client):")
        lines.append(f"  {self.residual}" if self.residual is not None else "  none")
        lines.append(f"exact: {'yes' if self.exact else 'no'}")
        if self.parts:
            lines.append("parts:")
            for part in self.parts:
                where = json.dumps(part.where, ensure_ascii=False) if part.where else "(nothing)"
                if part.exact:
                    lines.append(f"  {part.text}\n    -> server {where}: exact")
                else:
                    lines.append(
                        f"  {part.text}\n    -> server {where}, client residual: {part.reason}"
                    )
        return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def plan(
    expr: Expr | str,
    schema: Schema | None = None,
    *,
    types: Types | None = None,
    now: datetime | None = None,
) -> Plan:
    """Split a filter into a LoopBack where clause and a client-side residual.

    Everything LoopBack can express exactly is pushed to the server; the rest is
    sent as a sound superset and kept in ``residual``. Relative times resolve
    against ``now`` (default: the clock) once, here.
    """
    server, server_types = to_server(expr, schema, types)
    tree = to_nnf(prepare(server, server_types, now))
    gen = LoopBackGenerator(server_types)
    conjuncts = tree.operands if isinstance(tree, And) else (tree,)
    parts: list[Part] = []
    wheres: list[dict[str, Any]] = []
    residual: list[Expr] = []
    for conjunct in conjuncts:
        pushed = gen.generate(conjunct)
        parts.append(Part(str(conjunct), pushed.where, pushed.exact, pushed.reason))
        if pushed.where:
            wheres.append(pushed.where)
        if not pushed.exact:
            residual.append(conjunct)
    where = conjunction(wheres)
    return Plan(
        where=where,
        residual=all_of(*residual) if residual else None,
        parts=tuple(parts),
        types=server_types,
    )


def explain(
    expr: Expr | str,
    schema: Schema | None = None,
    *,
    types: Types | None = None,
    now: datetime | None = None,
) -> str:
    """The plan for ``expr``, readably: the where JSON, the residual and why."""
    return str(plan(expr, schema, types=types, now=now))
