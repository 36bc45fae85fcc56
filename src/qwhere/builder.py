"""``Q``: build filter trees with Python operators.

>>> from qwhere import Q
>>> str((Q.status == "ERROR") & Q.tags.any(["calibration"]))
'status == ERROR and tags any [calibration]'
>>> str(Q.backend.name == "ibmq_lima")
'backend.name == ibmq_lima'
>>> str(Q(status="ERROR", backend_name="x"))
'status == ERROR and backend_name == x'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from .errors import ArgumentError
from .tree import (
    Between,
    Compare,
    Exists,
    Expr,
    FieldPath,
    In,
    Match,
    Not,
    Quantified,
    Test,
    all_of,
    field_path,
)
from .values import coerce_value

__all__ = ["Field", "Q"]


def _value(value: object) -> Any:
    if isinstance(value, dict):
        raise ArgumentError(
            f"a filter value cannot be a dict ({value!r}): operators are written with Q's "
            "methods, not as LoopBack objects"
        )
    if isinstance(value, Field):
        raise ArgumentError("comparing two fields is not supported; compare a field with a value")
    return coerce_value(value)


class Field:
    """A field path under construction: ``Q.backend.name`` or ``Q["odd-name"]``."""

    __slots__ = ("_path",)

    def __init__(self, path: FieldPath) -> None:
        object.__setattr__(self, "_path", path)

    @property
    def path(self) -> FieldPath:
        path: FieldPath = object.__getattribute__(self, "_path")
        return path

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError("fields are immutable")

    def __getattr__(self, name: str) -> Field:
        if name.startswith("__"):
            raise AttributeError(name)
        return Field((*self.path, *field_path(name)))

    def __getitem__(self, name: str) -> Field:
        return Field((*self.path, *field_path(name)))

    def __repr__(self) -> str:
        return f"Q.{'.'.join(self.path)}"

    # comparisons build nodes
    def __eq__(self, value: object) -> Expr:  # type: ignore[override]
        return Compare(self.path, "==", _value(value))

    def __ne__(self, value: object) -> Expr:  # type: ignore[override]
        return Compare(self.path, "!=", _value(value))

    def __lt__(self, value: object) -> Expr:
        return Compare(self.path, "<", _value(value))

    def __le__(self, value: object) -> Expr:
        return Compare(self.path, "<=", _value(value))

    def __gt__(self, value: object) -> Expr:
        return Compare(self.path, ">", _value(value))

    def __ge__(self, value: object) -> Expr:
        return Compare(self.path, ">=", _value(value))

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        raise ArgumentError(
            f"Q.{'.'.join(self.path)} is a field, not a condition: write "
            f"Q.{'.'.join(self.path)} == True, .exists() or a comparison"
        )

    def _list(self, values: Iterable[object]) -> tuple[Any, ...]:
        if isinstance(values, dict | str | bytes) or not isinstance(values, Iterable):
            raise ArgumentError(f"expected a list of values, not {values!r}")
        return tuple(_value(v) for v in values)  # read once: generators are fine

    def in_(self, values: Iterable[object]) -> Expr:
        """The field equals one of ``values``."""
        return In(self.path, self._list(values))

    def not_in(self, values: Iterable[object]) -> Expr:
        """The field equals none of ``values`` (missing and null fields included)."""
        return Not(In(self.path, self._list(values)))

    def all(self, values: Iterable[object]) -> Expr:
        """The list-valued field contains every one of ``values``."""
        return Quantified(self.path, "all", self._list(values))

    def any(self, values: Iterable[object]) -> Expr:
        """The list-valued field contains at least one of ``values``."""
        return Quantified(self.path, "any", self._list(values))

    def none(self, values: Iterable[object]) -> Expr:
        """The list-valued field contains none of ``values``."""
        return Quantified(self.path, "none", self._list(values))

    def matches(self, pattern: str, flags: str = "") -> Expr:
        """A regular-expression search (unanchored); ``flags`` from ``i``, ``m``, ``s``."""
        return Match(self.path, pattern, flags)

    def between(self, low: object, high: object) -> Expr:
        """``low <= field <= high``."""
        return Between(self.path, _value(low), _value(high))

    def exists(self) -> Expr:
        """The field is present and not null."""
        return Exists(self.path)

    def is_true(self) -> Expr:
        """The boolean field is true (the text language's bare ``field``)."""
        return Compare(self.path, "==", True)


class _QBuilder:
    """The entry point: ``Q.field``, ``Q["odd-name"]``, ``Q(**equalities)``, ``Q.test(fn)``."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Field:
        if name.startswith("__"):
            raise AttributeError(name)
        return Field(field_path(name))

    def __getitem__(self, name: str) -> Field:
        return Field(field_path(name))

    def __call__(self, **equalities: object) -> Expr:
        if not equalities:
            raise ArgumentError("Q() needs at least one field=value pair")
        return all_of(*(Field(field_path(k)) == v for k, v in equalities.items()))

    def test(self, fn: Callable[[Any], object]) -> Expr:
        """A client-only condition: ``fn(record)`` must be truthy."""
        return Test(fn)

    def field(self, name: str) -> Field:
        """The field ``name`` (for names that clash with ``Q``'s methods, such as ``test``)."""
        return Field(field_path(name))

    def __repr__(self) -> str:
        return "Q"


Q = _QBuilder()
