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

__all__ = [
    "JsRegex",
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


def check_portable(pattern: str) -> None:
    """Raise ``ValueError`` for syntax JavaScript and Python do not read alike."""
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt in _PYTHON_ONLY_ESCAPES:
                raise ValueError(f"\\{nxt} is Python-only regular-expression syntax")
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            if pattern[i + 1 : i + 3] in ("]", "^]") or pattern[i + 1 : i + 2] == "]":
                raise ValueError("[] and [^] mean different things in JavaScript and Python")
            in_class = True
        elif ch == "(" and _PYTHON_ONLY_GROUP.match(pattern, i):
            raise ValueError(f"{pattern[i : i + 3]!r}... is Python-only regular-expression syntax")
        elif ch in "*+?}" and pattern[i + 1 : i + 2] == "+":
            raise ValueError("possessive quantifiers are Python-only regular-expression syntax")
        i += 1


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
    """Compile a JavaScript-flavoured pattern so Python matches what JavaScript matches.

    ``\\d \\w \\s \\b`` are ASCII/JavaScript classes, ``.`` stops at every JavaScript
    line terminator, and ``$`` (without ``m``) matches only at the very end.
    """
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "k" and pattern[i + 2 : i + 3] == "<":  # \k<name>: a named backreference
                end = pattern.index(">", i)
                out.append(f"(?P={pattern[i + 3 : end]})")
                i = end + 1
                continue
            if in_class and nxt in _CLASS_ESCAPES:
                out.append(_CLASS_ESCAPES[nxt])
            elif not in_class and nxt in _OUTSIDE_ESCAPES:
                out.append(_OUTSIDE_ESCAPES[nxt])
            else:
                out.append(ch + nxt)
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append(ch)
            if pattern[i + 1 : i + 2] == "^":
                out.append("^")
                i += 1
            if pattern[i + 1 : i + 2] == "]":  # a leading ] is literal in Python, empty in JS
                out.append("\\]")
                i += 1
        elif ch == "(" and pattern[i + 1 : i + 3] == "?<" and pattern[i + 3 : i + 4] not in "=!":
            out.append("(?P<")  # (?<name>...): a named group
            i += 3
            continue
        elif ch == "." and "s" not in flags:
            out.append("[^\\n\\r\\u2028\\u2029]")
        elif ch == "$" and "m" not in flags:
            out.append("(?!(?s:.))")
        else:
            out.append(ch)
        i += 1
    return re.compile("".join(out), python_flags(flags))


def dot_matches_all(pattern: str) -> str:
    """Rewrite every ``.`` outside a character class as ``[\\s\\S]`` (the ``s`` flag's meaning)."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern[i + 1 : i + 2] == "^":
                out.append("[^")
                i += 2
                continue
        elif ch == ".":
            out.append("[\\s\\S]")
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)
