"""Every exception qwhere raises on purpose.

One base class, :class:`QwhereError`, so ``except qwhere.QwhereError`` catches
everything the library reports about bad input, bad answers or bad servers.
Errors about a filter's *text* carry the position of the fault and end with the
input and a caret line under it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Sequence
from difflib import get_close_matches

__all__ = [
    "ApiError",
    "ArgumentError",
    "AuthenticationError",
    "BackendNotFoundError",
    "ConnectionFailed",
    "DeadlineExceeded",
    "FilterError",
    "FilterSyntaxError",
    "FilterTypeError",
    "FilterValueError",
    "IncompleteBody",
    "JobNotFoundError",
    "ListingOrderError",
    "ProtocolError",
    "QwhereError",
    "RedirectError",
    "RequestTimeout",
    "ResponseTooLarge",
    "UnknownFieldError",
    "UnsupportedWhereError",
]


class QwhereError(Exception):
    """Base class of every error qwhere raises on purpose.

    Its message never holds a secret a live :class:`~qwhere.transport.Transport` knows
    (the token, a password in the URL), in any form: every argument is scrubbed.
    """

    def __init__(self, *args: object) -> None:
        super().__init__(*(scrub(a) if isinstance(a, str) else a for a in args))


class FilterError(QwhereError, ValueError):
    """A filter is malformed; ``line``/``column`` point at the fault when it came from text."""

    def __init__(
        self,
        message: str,
        *,
        text: str | None = None,
        line: int | None = None,
        column: int | None = None,
        fragment: str | None = None,
        value_index: int | None = None,
    ) -> None:
        self.reason = message
        #: which value of the condition is at fault (None: the field or the whole condition)
        self.value_index = value_index
        self.text = text
        self.line = line
        self.column = column
        self.fragment = fragment
        super().__init__(self._render())

    def located(self, text: str, line: int, column: int, fragment: str) -> FilterError:
        """A copy of this error that points at ``line``/``column`` of ``text``."""
        moved = type(self).__new__(type(self))
        moved.__dict__.update(self.__dict__)
        moved.text, moved.line, moved.column = text, line, column
        moved.fragment = self.fragment or fragment
        moved.args = (moved._render(),)
        return moved

    def _render(self) -> str:
        if self.text is None or self.line is None or self.column is None:
            return self.reason
        lines = self.text.split("\n") or [""]
        row = lines[self.line - 1] if 0 < self.line <= len(lines) else ""
        where = (
            f"line {self.line}, column {self.column}"
            if len(lines) > 1
            else (f"column {self.column}")
        )
        row, at = _shown(row, self.column)
        caret = " " * (at - 1) + "^"
        return f"{self.reason} (at {where})\n  {row}\n  {caret}"


#: how much of a long line of filter text an error shows around the fault
_WINDOW = 60


def _shown(row: str, column: int) -> tuple[str, int]:
    """The part of ``row`` an error shows, and the caret's column in it.

    A long line is cut to the characters around ``column``; characters that could not be
    printed (control characters, lone surrogates) show as U+FFFD, one for one.
    """
    start = 0
    if len(row) > 2 * _WINDOW:
        start = max(0, min(column - 1 - _WINDOW, len(row) - 2 * _WINDOW))
        cut = row[start : start + 2 * _WINDOW]
        row = ("…" if start else "") + cut + ("…" if start + 2 * _WINDOW < len(row) else "")
        column = column - start + (1 if start else 0)
    if not row.isprintable():
        row = "".join(ch if ch.isprintable() else "\ufffd" for ch in row)
    return row, column


class FilterSyntaxError(FilterError):
    """The text is not a filter: it carries ``line``, ``column`` and the offending ``fragment``."""


class UnknownFieldError(FilterError):
    """A field the schema does not know; ``suggestions`` lists the closest known names."""

    def __init__(
        self,
        field: str,
        known: Iterable[str],
        *,
        text: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.field = field
        self.known = tuple(sorted(set(known)))
        self.suggestions = tuple(suggest(field, self.known))
        hint = (
            "did you mean " + " or ".join(repr(s) for s in self.suggestions) + "?"
            if self.suggestions
            else "known fields: " + ", ".join(self.known)
        )
        super().__init__(
            f"unknown field {field!r}; {hint}", text=text, line=line, column=column, fragment=field
        )


class FilterTypeError(FilterError):
    """A value of the wrong type for its field (``n_qubits >= "abc"``)."""


class FilterValueError(FilterError):
    """A value the field cannot take (an unknown status, a bad regular expression)."""


class ArgumentError(QwhereError, TypeError, ValueError):
    """A bad argument to a public function or method (wrong type or value).

    Raised before any request is sent. It is a ``TypeError`` and a ``ValueError``, so
    code written for either (the seed raised ``TypeError`` for a bad date) still works.
    """


class UnsupportedWhereError(QwhereError, ValueError):
    """A LoopBack where clause that qwhere cannot represent exactly (never dropped silently)."""


class ApiError(QwhereError):
    """The server answered with an error, or could not be reached; ``status`` is the HTTP
    status (None when there was no answer), ``code`` the server's or qwhere's error code."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        message = clip(scrub(message), _MESSAGE)
        self.status = status
        self.code = None if code is None else clip(scrub(code), 100)
        self.message = message
        prefix = f"HTTP {status}: " if status is not None else ""
        super().__init__(prefix + message)


class ConnectionFailed(ApiError, ConnectionError):
    """The service could not be reached, or dropped the connection (after the retries).

    ``refused`` is true when nothing listened at the address (retried less: see
    :data:`qwhere.transport.REFUSED_RETRIES`).
    """

    refused: bool = False


class IncompleteBody(ConnectionFailed):
    """The answer was cut short, every time it was tried."""


class RequestTimeout(ApiError, TimeoutError):
    """The service did not connect or answer within ``timeout`` (after the retries)."""


class DeadlineExceeded(RequestTimeout):
    """One request (attempts, redirects and pauses together) took longer than ``deadline``."""


class RedirectError(ApiError):
    """A redirect qwhere will not follow: to another origin (the token stays home), or one
    too many (a loop). ``location`` is where it pointed (credentials hidden)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = "REDIRECT",
        location: str = "",
    ):
        self.location = scrub(location)
        super().__init__(message, status=status, code=code)


class AuthenticationError(ApiError):
    """The server refused the credentials (401 or 403)."""


class JobNotFoundError(ApiError):
    """No job has the requested id."""


class BackendNotFoundError(ApiError, LookupError):
    """No backend has the requested name."""


class ProtocolError(QwhereError):
    """The server's answer is not what the REST contract promises (bad JSON or shape)."""

    def __init__(self, message: str = "", *args: object) -> None:
        super().__init__(clip(scrub(message), _MESSAGE), *args)


class ResponseTooLarge(ProtocolError):
    """An answer larger than ``max_response_bytes``; ``limit`` is that limit."""

    def __init__(self, message: str, *, limit: int) -> None:
        self.limit = limit
        super().__init__(message)


#: the longest message an error about a server's answer carries
_MESSAGE = 1000
_SECRETS: weakref.WeakKeyDictionary[object, tuple[str, ...]] = weakref.WeakKeyDictionary()
_SECRETS_LOCK = threading.Lock()
_SCRUB_ORDER: tuple[str, ...] = ()


def register_secrets(owner: object, forms: Iterable[str]) -> None:
    """Hide ``forms`` from every qwhere error message while ``owner`` lives."""
    global _SCRUB_ORDER
    with _SECRETS_LOCK:
        _SECRETS[owner] = tuple(f for f in forms if f)
        _SCRUB_ORDER = _order()


def forget_secrets(owner: object) -> None:
    global _SCRUB_ORDER
    with _SECRETS_LOCK:
        _SECRETS.pop(owner, None)
        _SCRUB_ORDER = _order()


def _order() -> tuple[str, ...]:
    forms = {f for group in list(_SECRETS.values()) for f in group}
    return tuple(sorted(forms, key=len, reverse=True))  # longer forms first


def scrub(text: str) -> str:
    """``text`` with every registered secret (in every form) replaced by ``<hidden>``."""
    for form in _SCRUB_ORDER:
        if form in text:
            text = text.replace(form, "<hidden>")
    return text


def clip(text: str, size: int = 80) -> str:
    """``text``, cut to ``size`` characters (with an ellipsis) for a message."""
    return text if len(text) <= size else text[: size - 1] + "…"


class ListingOrderError(ProtocolError):
    """A listing cannot go on exactly, and says why instead of coming back short.

    Either the server returned records in an order its connector does not produce
    (is ``connector=`` right?), or its order holds distinct ids equal (a
    case-insensitive collation) in a way no keyset condition can walk past.
    """


def suggest(word: str, known: Sequence[str], n: int = 3) -> list[str]:
    """The known names closest to ``word``, case-insensitively, best first."""
    lowered = {k.lower(): k for k in known}
    hits = get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]
