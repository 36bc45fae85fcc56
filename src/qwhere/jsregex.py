"""JavaScript regular expressions, read the way LoopBack's engine (JavaScript) reads them.

The filter language's ``~`` is evaluated by JavaScript on the server and by Python on
the client, so patterns are limited to the syntax both share (:func:`check_portable`)
and translated so Python matches what JavaScript matches (:class:`JsRegex`): ``\\d \\w
\\s \\b`` are JavaScript's (ASCII) classes, ``.`` stops at every JavaScript line
terminator, ``$`` without ``m`` matches only at the very end, named groups are written
``(?<name>...)``, and strings are UTF-16 (``/^.$/`` does not match an emoji).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = [
    "JsRegex",
    "atoms",
    "check_portable",
    "dot_matches_all",
    "js_regex",
    "literal_prefix",
    "utf16_units",
]

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}

_LITERAL_PREFIX = re.compile(r"\^((?:[^\\.^$*+?{}\[\]|()]|\\[^A-Za-z0-9])*)")
_JS_SPACE = (
    "\\t\\n\\v\\f\\r \\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
)
_WORD = "A-Za-z0-9_"
_CLASS_ESCAPES = {"d": "0-9", "w": _WORD, "s": _JS_SPACE}
_OUTSIDE_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": f"[{_WORD}]",
    "W": f"[^{_WORD}]",
    "s": f"[{_JS_SPACE}]",
    "S": f"[^{_JS_SPACE}]",
    "b": f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))",
    "B": f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))",
}


# Syntax only one of the two languages has (or reads differently).
_PYTHON_ONLY_GROUP = re.compile(r"\(\?(?:P|#|>|\(|[aiLmsux-]+[:)])")
_PYTHON_ONLY_ESCAPES = frozenset("AZzGN")


def python_flags(flags: str) -> int:
    result = 0
    for flag in flags:
        result |= _FLAGS[flag]
    return result


def atoms(pattern: str) -> Iterator[tuple[int, str, bool]]:
    """Each atom of ``pattern``: (position, text, inside a character class).

    An atom is one character, or a backslash with the character it escapes; the ``[``
    that opens a class is outside it, the ``]`` that closes it inside.
    """
    in_class = False
    i = 0
    while i < len(pattern):
        atom = pattern[i : i + 2] if pattern[i] == "\\" else pattern[i]
        yield i, atom, in_class
        in_class = atom != "]" if in_class else atom == "["
        i += len(atom)


def check_portable(pattern: str) -> None:
    """Raise ``ValueError`` for syntax JavaScript and Python do not read alike."""
    for i, atom, in_class in atoms(pattern):
        if atom[0] == "\\" and atom[1:] in _PYTHON_ONLY_ESCAPES:
            raise ValueError(f"{atom} is Python-only regular-expression syntax")
        if in_class:
            continue
        if atom == "[" and re.match(r"\[\^?\]", pattern[i:]):
            raise ValueError("[] and [^] mean different things in JavaScript and Python")
        if atom == "(" and _PYTHON_ONLY_GROUP.match(pattern, i):
            raise ValueError(f"{pattern[i : i + 3]!r}... is Python-only regular-expression syntax")
        if atom in ("*", "+", "?", "}") and pattern[i + 1 : i + 2] == "+":
            raise ValueError("possessive quantifiers are Python-only regular-expression syntax")


def literal_prefix(pattern: str) -> str | None:
    """The text a pattern ``^literal`` (no metacharacters) requires at the start, or None."""
    m = _LITERAL_PREFIX.fullmatch(pattern)
    if m is None or not m.group(1):
        return None
    return re.sub(r"\\(.)", r"\1", m.group(1))


def utf16_units(text: str) -> str:
    """``text`` with every astral character split into its surrogate pair (JavaScript's view)."""
    if text.isascii() or max(text) <= "\uffff":
        return text
    raw = text.encode("utf-16-le", "surrogatepass")
    return "".join(chr(int.from_bytes(raw[i : i + 2], "little")) for i in range(0, len(raw), 2))


class JsRegex:
    """A JavaScript regular expression (no ``u`` flag) evaluated in Python.

    JavaScript matches UTF-16 code units: ``/^.$/`` does not match an emoji. Strings with
    astral characters are searched in their surrogate-pair form, with the pattern likewise.
    """

    __slots__ = ("bmp", "units")

    def __init__(self, pattern: str, flags: str) -> None:
        self.bmp = js_regex(pattern, flags)
        self.units = js_regex(utf16_units(pattern), flags)

    def search(self, text: str) -> bool:
        if text.isascii() or max(text) <= "\uffff":
            return self.bmp.search(text) is not None
        return self.units.search(utf16_units(text)) is not None


def js_regex(pattern: str, flags: str) -> re.Pattern[str]:
    """Compile a (portable) JavaScript pattern so Python matches what JavaScript matches.

    ``\\d \\w \\s \\b`` are ASCII/JavaScript classes, ``.`` stops at every JavaScript
    line terminator, ``$`` (without ``m``) matches only at the very end, and named groups
    and backreferences are spelled the Python way.
    """
    out: list[str] = []
    skip_to = 0
    for i, atom, in_class in atoms(pattern):
        if i < skip_to:
            continue
        if atom == "\\k" and pattern[i + 2 : i + 3] == "<":  # \k<name>: a named backreference
            end = pattern.index(">", i)
            out.append(f"(?P={pattern[i + 3 : end]})")
            skip_to = end + 1
        elif len(atom) == 2:
            table = _CLASS_ESCAPES if in_class else _OUTSIDE_ESCAPES
            out.append(table.get(atom[1], atom))
        elif in_class:
            # [ & ~ | are literal in a JavaScript class; escaped, Python reads them so too and
            # never warns that a future version will read [[ && ~~ || as set operations
            if atom == "-" and pattern[i + 1 : i + 2] == "-":
                raise ValueError("'--' in a character class will mean a set difference in Python")
            out.append("\\" + atom if atom in "[&~|" else atom)
        elif atom == "(" and pattern[i + 1 : i + 3] == "?<" and pattern[i + 3 : i + 4] not in "=!":
            out.append("(?P<")  # (?<name>...): a named group
            skip_to = i + 3
        elif atom == "." and "s" not in flags:
            out.append("[^\\n\\r\\u2028\\u2029]")
        elif atom == "$" and "m" not in flags:
            out.append("(?!(?s:.))")
        else:
            out.append(atom)
    return re.compile("".join(out), python_flags(flags))


def dot_matches_all(pattern: str) -> str:
    """Rewrite every ``.`` outside a character class as ``[\\s\\S]`` (the ``s`` flag's meaning)."""
    return "".join(
        "[\\s\\S]" if atom == "." and not in_class else atom for _, atom, in_class in atoms(pattern)
    )
