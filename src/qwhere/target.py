"""What the planner asks of a target: take each conjunct, render one request.

A target is a server API the planner compiles for. It says, per top-level conjunct
of a prepared tree in negation normal form, what it can send for it (a clause of its
own kind, or nothing) and whether the server then selects exactly that conjunct;
then it renders the clauses it took as its own request. The LoopBack target
(:class:`qwhere.loopback.LoopBackTarget`) takes where clauses and renders one
``where``; a target for flat query parameters (``?backend=…&tags=…``) takes the
conjuncts it has a parameter for and renders the parameter set. The planner itself
never looks inside a clause.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import Generic, TypeVar

import attrs

from .tree import Expr

__all__ = ["Taken", "Target"]

C = TypeVar("C")
R = TypeVar("R")


@attrs.frozen
class Taken(Generic[C]):
    """What a target sends for one conjunct: ``clause`` (None: nothing) selects a superset,
    exactly the conjunct's records when ``exact``; ``reason`` says why not."""

    clause: C | None
    exact: bool
    reason: str = ""


class Target(abc.ABC, Generic[C, R]):
    """A server API the planner compiles for."""

    #: names the target (and its profile) in ``explain``
    name: str

    @abc.abstractmethod
    def take(self, conjunct: Expr) -> Taken[C]:
        """What this target can send for ``conjunct``."""

    @abc.abstractmethod
    def render(self, clauses: Sequence[C]) -> R:
        """The request for the clauses taken (all of them hold: they are ANDed)."""

    def fits(self, clauses: Sequence[C]) -> bool:
        """Whether the server takes a request for these clauses (a size or depth limit)."""
        return True

    def weight(self, clause: C) -> int:
        """How much ``clause`` counts against :meth:`fits` (the heaviest is kept off first)."""
        return 0
