"""qwhere: one filter language for LoopBack-backed job and backend services.

    >>> from qwhere import Q, parse
    >>> parse("status == ERROR") & Q.tags.any(["calibration"])
    And([Compare('status', '==', 'ERROR'), Quantified('tags', 'any', ['calibration'])])

Names are imported lazily: ``import qwhere`` is cheap, and the HTTP client is
loaded only when a command needs it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "Q": "builder",
    "Field": "builder",
    "parse": "parser",
    "plan": "planner",
    "explain": "planner",
    "Plan": "planner",
    "predicate": "evaluator",
    "from_where": "where",
    "Expr": "tree",
    "And": "tree",
    "Or": "tree",
    "Not": "tree",
    "Compare": "tree",
    "In": "tree",
    "Quantified": "tree",
    "Match": "tree",
    "Between": "tree",
    "Exists": "tree",
    "Test": "tree",
    "TRUE": "tree",
    "FALSE": "tree",
    "RelativeTime": "values",
    "when": "times",
    "Schema": "schema",
    "FieldSpec": "schema",
    "FieldType": "schema",
    "JobStatus": "status",
    "QwhereError": "errors",
    "ArgumentError": "errors",
    "FilterError": "errors",
    "FilterSyntaxError": "errors",
    "FilterTypeError": "errors",
    "FilterValueError": "errors",
    "UnknownFieldError": "errors",
    "UnsupportedWhereError": "errors",
    "ApiError": "errors",
    "AuthenticationError": "errors",
    "JobNotFoundError": "errors",
    "BackendNotFoundError": "errors",
    "ProtocolError": "errors",
    "ListingOrderError": "errors",
    "ConnectionFailed": "errors",
    "DeadlineExceeded": "errors",
    "IncompleteBody": "errors",
    "RedirectError": "errors",
    "RequestTimeout": "errors",
    "ResponseTooLarge": "errors",
    "connect": "client.service",
    "Provider": "client.service",
    "BackendService": "client.service",
    "JobIterator": "client.listing",
    "ListingStats": "client.listing",
    "Job": "models",
    "Backend": "models",
    "Reservation": "models",
}
_SUBMODULES = {"schemas", "errors", "tree", "values", "testing"}

__all__ = [
    "FALSE",
    "TRUE",
    "And",
    "ApiError",
    "ArgumentError",
    "AuthenticationError",
    "Backend",
    "BackendNotFoundError",
    "BackendService",
    "Between",
    "Compare",
    "ConnectionFailed",
    "DeadlineExceeded",
    "Exists",
    "Expr",
    "Field",
    "FieldSpec",
    "FieldType",
    "FilterError",
    "FilterSyntaxError",
    "FilterTypeError",
    "FilterValueError",
    "In",
    "IncompleteBody",
    "Job",
    "JobIterator",
    "JobNotFoundError",
    "JobStatus",
    "ListingOrderError",
    "ListingStats",
    "Match",
    "Not",
    "Or",
    "Plan",
    "ProtocolError",
    "Provider",
    "Q",
    "Quantified",
    "QwhereError",
    "RedirectError",
    "RelativeTime",
    "RequestTimeout",
    "Reservation",
    "ResponseTooLarge",
    "Schema",
    "Test",
    "UnknownFieldError",
    "UnsupportedWhereError",
    "__version__",
    "connect",
    "errors",
    "explain",
    "from_where",
    "parse",
    "plan",
    "predicate",
    "schemas",
    "testing",
    "tree",
    "values",
    "when",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(import_module(f".{module}", __name__), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'qwhere' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from . import errors, schemas, tree, values
    from .builder import Field, Q
    from .client.listing import JobIterator, ListingStats
    from .client.service import BackendService, Provider, connect
    from .errors import (
        ApiError,
        ArgumentError,
        AuthenticationError,
        BackendNotFoundError,
        ConnectionFailed,
        DeadlineExceeded,
        FilterError,
        FilterSyntaxError,
        FilterTypeError,
        FilterValueError,
        IncompleteBody,
        JobNotFoundError,
        ListingOrderError,
        ProtocolError,
        QwhereError,
        RedirectError,
        RequestTimeout,
        ResponseTooLarge,
        UnknownFieldError,
        UnsupportedWhereError,
    )
    from .evaluator import predicate
    from .models import Backend, Job, Reservation
    from .parser import parse
    from .planner import Plan, explain, plan
    from .schema import FieldSpec, FieldType, Schema
    from .status import JobStatus
    from .times import when
    from .tree import (
        FALSE,
        TRUE,
        And,
        Between,
        Compare,
        Exists,
        Expr,
        In,
        Match,
        Not,
        Or,
        Quantified,
        Test,
    )
    from .values import RelativeTime
    from .where import from_where
