"""Tree -> canonical filter text (the inverse of :mod:`qwhere.parser`).

Minimal parentheses, quoting only where a bare word would read as something
else. ``parse(to_text(e)) == e`` for every tree without a :class:`~qwhere.tree.Test`
leaf, and ``to_text(parse(s))`` is a fixed point.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from .jsregex import atoms
from .tree import (
    And,
    Between,
    Compare,
    Exists,
    Expr,
    FieldPath,
    Generator,
    In,
    Match,
    Not,
    Or,
    Quantified,
    ServerClause,
    Test,
)
from .values import RelativeTime, Scalar

__all__ = ["KEYWORDS", "format_field", "format_value", "to_text"]

KEYWORDS = frozenset(
    [
        "or",
        "and",
        "not",
        "in",
        "between",
        "exists",
        "all",
        "any",
        "none",
        "true",
        "false",
        "null",
        "now",
        "today",
    ]
)
#: A value's bareword (a NAME): a word, with dotted parts that may start with a digit or
#: "-" (``v1.2``, ``run-2024.01``). Never a number, date or keyword: it starts with a letter
#: or ``_``, and its first part is no keyword. A field's parts are written with _BARE_PART.
_BARE = re.compile(r"[^\W\d][\w-]*(?:\.[\w-]+)*")
_BARE_PART = re.compile(r"[^\W\d][\w-]*")
_RELATIVE_LIKE = re.compile(r"(?:now|today)[ \t]*[+-][ \t]*\d+[ \t]*[smhdw](?![\w-])", re.I)

# precedence: or < and < not < condition
_OR, _AND, _NOT, _ATOM = 1, 2, 3, 4


def quote(text: str) -> str:
    out = ['"']
    for ch in text:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif not ch.isprintable():
            code = ord(ch)
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\u{{{code:x}}}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _is_bare(text: str, pattern: re.Pattern[str]) -> bool:
    return (
        pattern.fullmatch(text) is not None
        and text.split(".", 1)[0].lower() not in KEYWORDS
        and _RELATIVE_LIKE.match(text) is None
        and text.isprintable()
    )


def format_field(path: FieldPath) -> str:
    return ".".join(p if _is_bare(p, _BARE_PART) else quote(p) for p in path)


def _format_datetime(moment: datetime) -> str:
    spec = "minutes" if moment.second == 0 and moment.microsecond == 0 else "auto"
    text = moment.isoformat(timespec=spec)
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def format_value(value: Scalar) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, RelativeTime):
        return str(value)
    return value if _is_bare(value, _BARE) else quote(value)


def format_list(values: tuple[Scalar, ...]) -> str:
    return "[" + ", ".join(format_value(v) for v in values) + "]"


def format_regex(pattern: str, flags: str) -> str:
    if not pattern and not flags:
        return '""'  # `//` is not a regex literal
    body = "".join("\\/" if atom == "/" else atom for _, atom, _ in atoms(pattern))
    return "/" + body + "/" + flags


class TextGenerator(Generator[tuple[int, str]]):
    """Renders each node as (precedence, text); parents add parentheses where needed."""

    def wrap(self, node: Expr, minimum: int) -> str:
        level, text = self.generate(node)
        return text if level >= minimum else f"({text})"

    def compare(self, node: Compare) -> tuple[int, str]:
        field = format_field(node.field)
        if node.op == "==" and node.value is True:
            return _ATOM, field
        return _ATOM, f"{field} {node.op} {format_value(node.value)}"

    def in_(self, node: In) -> tuple[int, str]:
        return _ATOM, f"{format_field(node.field)} in {format_list(node.values)}"

    def quantified(self, node: Quantified) -> tuple[int, str]:
        return _ATOM, f"{format_field(node.field)} {node.quantifier} {format_list(node.values)}"

    def match(self, node: Match) -> tuple[int, str]:
        return _ATOM, f"{format_field(node.field)} ~ {format_regex(node.pattern, node.flags)}"

    def between(self, node: Between) -> tuple[int, str]:
        low, high = format_value(node.low), format_value(node.high)
        return _ATOM, f"{format_field(node.field)} between {low} and {high}"

    def exists(self, node: Exists) -> tuple[int, str]:
        return _ATOM, f"{format_field(node.field)} exists"

    def and_(self, node: And) -> tuple[int, str]:
        if not node.operands:
            return _ATOM, "true"
        return _AND, " and ".join(self.wrap(op, _NOT) for op in node.operands)

    def or_(self, node: Or) -> tuple[int, str]:
        if not node.operands:
            return _ATOM, "false"
        return _OR, " or ".join(self.wrap(op, _AND) for op in node.operands)

    def not_(self, node: Not) -> tuple[int, str]:
        inner = node.operand
        if isinstance(inner, In):
            return _ATOM, f"{format_field(inner.field)} not in {format_list(inner.values)}"
        if isinstance(inner, Exists):
            return _ATOM, f"{format_field(inner.field)} not exists"
        return _NOT, "not " + self.wrap(inner, _NOT)

    def test(self, node: Test) -> tuple[int, str]:
        return _ATOM, f"<test {node.label}>"

    def server_clause(self, node: ServerClause) -> tuple[int, str]:
        return _ATOM, f"<server {node.text}>"


_TEXT = TextGenerator()


def to_text(expr: Expr) -> str:
    """The canonical text of ``expr``."""
    return _TEXT.generate(expr)[1]
