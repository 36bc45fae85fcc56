"""The plan: what goes to the server as a LoopBack ``where``, what stays on the client.

What a clause selects depends on the database behind the server, so a plan is made
for a connector profile (``connector="memory"``, ``"postgresql"``, ``"mysql"``, or
``None``: any of them):

>>> from qwhere import plan, Q
>>> p = plan("tags all [a, b] and name ~ /^bell/", connector="memory")
>>> p.where
{'and': [{'tags': 'a'}, {'tags': 'b'}, {'name': {'regexp': '/^bell/'}}]}
>>> p.exact
True
>>> plan("tags all [a, b]", connector="postgresql").where
{'and': [{'tags': {'like': '%"a"%'}}, {'tags': {'like': '%"b"%'}}]}
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .errors import UnsupportedWhereError
from .loopback import LoopBackTarget, Profile, get_profile
from .loopback.profiles import UNKNOWN
from .resolve import Types, prepare, to_nnf, to_server
from .target import Taken
from .tree import And, Expr, FieldPath, ServerClause, all_of, walk

if TYPE_CHECKING:
    from collections.abc import Callable

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
    profile: Profile = attrs.field(default=UNKNOWN, repr=False)
    _matcher: list[Callable[[Any], bool]] = attrs.field(
        factory=list, init=False, repr=False, eq=False
    )

    @property
    def exact(self) -> bool:
        return self.residual is None

    def matches(self, record: Any) -> bool:
        """Whether a record the server returned for :attr:`where` belongs to the result.

        The record is read at server paths (as the server sends it); only the
        residual is evaluated. A plan sent to one's own server needs nothing else.
        """
        if self.residual is None:
            return True
        if not self._matcher:
            from .evaluator import compile_predicate

            self._matcher.append(compile_predicate(self.residual))
        return self._matcher[0](record)

    def __str__(self) -> str:
        lines = [
            f"connector: {self.profile}",
            "where:",
            _indent(json.dumps(self.where, indent=2, ensure_ascii=False)),
        ]
        lines.append("residual (checked on the client):")
        lines.append(f"  {self.residual}" if self.residual is not None else "  none")
        lines.append(f"exact: {'yes' if self.exact else 'no'}")
        if self.parts:
            lines.append("parts:")
            for part in self.parts:
                where = json.dumps(part.where, ensure_ascii=False) if part.where else "(nothing)"
                if part.exact:
                    why = f" ({part.reason})" if part.reason else ""
                    lines.append(f"  {part.text}\n    -> server {where}: exact{why}")
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
    connector: str | Profile | None = None,
    types: Types | None = None,
    now: datetime | None = None,
) -> Plan:
    """Split a filter into a LoopBack where clause and a client-side residual.

    Everything the connector's server can select exactly is pushed to it; the rest
    is sent as a sound superset and kept in ``residual``. ``connector`` names the
    database behind the server (``"memory"``, ``"postgresql"``, ``"mysql"``, a
    :class:`~qwhere.loopback.Profile`); ``None`` plans for any of them. Relative
    times resolve against ``now`` (default: the clock) once, here.
    """
    profile = get_profile(connector)
    server, server_types = to_server(expr, schema, types)
    tree = to_nnf(prepare(server, server_types, now))
    target = LoopBackTarget(server_types, profile)
    conjuncts = tree.operands if isinstance(tree, And) else (tree,)
    parts: list[Part] = []
    wheres: list[dict[str, Any]] = []
    residual: list[Expr] = []
    taken = [target.take(conjunct) for conjunct in conjuncts]
    # a server takes a request only so deep: the deepest clauses stay on the client
    while not target.fits([t.clause for t in taken if t.clause is not None]):
        deepest = max(
            (i for i, t in enumerate(taken) if t.clause is not None),
            key=lambda i: target.weight(taken[i].clause or {}),
        )
        taken[deepest] = Taken(None, False, f"too deep for {target.name}; checked on the client")
    for conjunct, took in zip(conjuncts, taken, strict=True):
        parts.append(Part(str(conjunct), took.clause or {}, took.exact, took.reason))
        if took.clause is not None:
            wheres.append(took.clause)
        if not took.exact:
            _refuse_server_only(conjunct)
            residual.append(conjunct)
    where = target.render(wheres)
    return Plan(
        where=where,
        residual=all_of(*residual) if residual else None,
        parts=tuple(parts),
        types=server_types,
        profile=profile,
    )


def _refuse_server_only(conjunct: Expr) -> None:
    """A clause only the server can judge must not be needed on the client."""
    for node in walk(conjunct):
        if isinstance(node, ServerClause):
            raise UnsupportedWhereError(
                f"{node.text} can only be judged by the server, but here its meaning would "
                f"be needed on the client (in {conjunct}); put it at the top level of the "
                "filter, outside not and outside an or with client-side parts"
            )


def explain(
    expr: Expr | str,
    schema: Schema | None = None,
    *,
    connector: str | Profile | None = None,
    types: Types | None = None,
    now: datetime | None = None,
) -> str:
    """The plan for ``expr`` on ``connector``, readably: the where JSON, the residual, why."""
    return str(plan(expr, schema, connector=connector, types=types, now=now))
