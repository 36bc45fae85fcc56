"""JavaScript patterns rewritten for the databases behind LoopBack.

Three rewrites, each of which either keeps the meaning or says it cannot:

* :func:`without_multiline`: the same pattern without the ``m`` flag (its anchors
  spelled out as lookarounds), so it can be embedded where ``^`` must mean the start;
* :func:`to_postgresql`: a PostgreSQL ARE that matches exactly the strings the
  JavaScript pattern matches, for the syntax where that can be guaranteed;
* :func:`like_superset`: a SQL ``LIKE`` pattern every match satisfies (literal runs
  the pattern requires, in order), for connectors without a usable ``regexp``.

The meaning is JavaScript's without the ``u`` flag: strings are UTF-16 code units.
PostgreSQL matches code points, so an atom that can match half of a surrogate pair
(``.``, a negated class) is only kept where it repeats (``*``, ``+``): "any run"
covers the same strings in both.
"""

from __future__ import annotations

import re

from ..jsregex import atoms

__all__ = ["like_superset", "to_postgresql", "without_multiline"]

_TERMINATORS = "\\n\\r\\u2028\\u2029"
_WORD = "A-Za-z0-9_"
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")
_MAX_PG_REPEAT = 255  # PostgreSQL's RE_DUP_MAX
#: groups both dialects read alike (lookarounds test the same strings in both)
_PG_GROUPS = ("(?:", "(?=", "(?!", "(?<=", "(?<!")


def without_multiline(pattern: str) -> str:
    """``pattern`` under ``m`` rewritten for use without it (JavaScript's line terminators)."""
    out: list[str] = []
    for _, atom, in_class in atoms(pattern):
        if not in_class and atom == "^":
            out.append(f"(?:^|(?<=[{_TERMINATORS}]))")
        elif not in_class and atom == "$":
            out.append(f"(?:$|(?=[{_TERMINATORS}]))")
        else:
            out.append(atom)
    return "".join(out)


def _bmp(char: str) -> bool:
    return not ("\ud800" <= char <= "\udfff") and char <= "\uffff"


def _pg_literal(char: str) -> str:
    """One character as a PostgreSQL ARE literal (and still a JavaScript identity escape)."""
    if char.isascii() and not char.isalnum():
        if char in "\t\n\v\f\r":
            return {"\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}[char]
        if ord(char) < 0x20 or char == "\x7f":
            return char
        return "\\" + char
    return char


_PG_OUTSIDE = {
    "d": ("[0-9]", False),
    "w": (f"[{_WORD}]", False),
    "s": (f"[{_JS_SPACE}]", False),
    "D": ("[^0-9]", True),
    "W": (f"[^{_WORD}]", True),
    "S": (f"[^{_JS_SPACE}]", True),
    "b": (f"(?:(?<=[{_WORD}])(?![{_WORD}])|(?<![{_WORD}])(?=[{_WORD}]))", False),
    "B": (f"(?:(?<=[{_WORD}])(?=[{_WORD}])|(?<![{_WORD}])(?![{_WORD}]))", False),
    "t": ("\\t", False),
    "n": ("\\n", False),
    "v": ("\\v", False),
    "f": ("\\f", False),
    "r": ("\\r", False),
}
_PG_IN_CLASS = {"d": "0-9", "w": _WORD, "s": _JS_SPACE, "t": "\\t", "n": "\\n", "r": "\\r"}


def _repeats(pattern: str, end: int) -> bool:
    """The atom ending at ``end`` is followed by ``*`` or ``+``."""
    return pattern[end : end + 1] in ("*", "+")


def to_postgresql(pattern: str, flags: str) -> str | None:
    """A PostgreSQL pattern matching exactly what JavaScript's ``/pattern/flags`` matches.

    ``flags`` may hold ``i`` (PostgreSQL's ``~*`` folds the pattern's own letters, as
    JavaScript does, for ASCII). ``None`` where exactness cannot be guaranteed.
    """
    if set(flags) - {"i"}:
        return None
    out: list[str] = []
    items = list(atoms(pattern))
    index = 0
    class_start = -1
    negated = False
    while index < len(items):
        pos, atom, in_class = items[index]
        index += 1
        end = pos + len(atom)
        if in_class:
            if atom == "]":
                out.append("]")
                if negated and not _repeats(pattern, end):
                    return None
                continue
            if atom == "^" and pos == class_start + 1:
                out.append("^")
                negated = True
                continue
            if atom == "-" and pattern[pos - 1 : pos] != "[" and pattern[end : end + 1] != "]":
                out.append("-")
                continue
            if len(atom) == 2:
                name = atom[1]
                if name in _PG_IN_CLASS:
                    out.append(_PG_IN_CLASS[name])
                elif name.isalnum():
                    return None
                else:
                    out.append(_pg_literal(name))
                continue
            if not _bmp(atom) or ("i" in flags and not atom.isascii()):
                return None
            out.append(_pg_literal(atom) if not atom.isalnum() else atom)
            continue
        if atom == "[":
            class_start, negated = pos, False
            out.append("[")
            continue
        if atom in ("^", "$", "|", ")", "*", "+", "?"):
            out.append(atom)
            continue
        if atom == "(":
            group = next((g for g in _PG_GROUPS if pattern.startswith(g, pos)), None)
            if group is not None:
                out.append(group)
                index += len(group) - 1
            elif pattern[end : end + 1] == "?":
                return None  # named groups: PostgreSQL has none
            else:
                out.append("(")
            continue
        if atom == "{":
            m = _QUANTIFIER.match(pattern, pos)
            if m is None or int(m.group(1)) > _MAX_PG_REPEAT:
                return None
            if m.group(3) and int(m.group(3)) > _MAX_PG_REPEAT:
                return None
            if m.group(3) and int(m.group(3)) < int(m.group(1)):
                return None
            out.append(m.group(0))
            while index < len(items) and items[index][0] < m.end():
                index += 1
            continue
        if atom == "}":
            return None
        if atom == ".":
            if not _repeats(pattern, end):
                return None
            out.append(f"[^{_TERMINATORS}]")
            continue
        if len(atom) == 2:
            name = atom[1]
            if name in _PG_OUTSIDE:
                text, wide = _PG_OUTSIDE[name]
                if wide and not _repeats(pattern, end):
                    return None
                out.append(text)
            elif name.isalnum():
                return None  # \x, \u, \c, back references, \p ...
            else:
                out.append(_pg_literal(name))
            continue
        if not _bmp(atom) or ("i" in flags and not atom.isascii()):
            return None
        out.append(_pg_literal(atom))
    return "".join(out)


def _like_escape(text: str) -> str:
    # % and _ stay wildcards: a wider pattern is still a superset
    return text.replace("\\", "\\\\")


def like_superset(
    pattern: str,
    flags: str,
    *,
    plain: bool = False,
    inside_json: bool = False,
    caseless: bool = True,
) -> str | None:
    """A ``LIKE`` pattern that every string matching ``/pattern/flags`` satisfies.

    ``plain``: the ``like`` is juggler's (a regular expression made without escaping,
    whose ``%`` stops at a newline): one run of characters that mean themselves.
    ``inside_json``: the string is matched inside JSON text, so characters JSON
    escapes end a run and anchors mean nothing. ``caseless``: the ``like`` sent
    ignores ASCII case (with the ``i`` flag, cased letters end a run otherwise).
    ``None`` when the pattern requires no literal text that can be said so.
    """
    runs: list[str] = []
    current: list[str] = []
    start_anchored = end_anchored = False
    depth = 0
    multiline = "m" in flags
    fold = "i" in flags
    skip_to = 0

    def cut() -> None:
        nonlocal start_anchored
        if current:
            runs.append("".join(current))
            current.clear()
        elif not runs:
            start_anchored = False  # something unknown comes before the first literal

    for pos, atom, in_class in atoms(pattern):
        if pos < skip_to:
            continue
        end = pos + len(atom)
        if atom == "|" and not depth:
            return None
        if in_class or atom in ("[", "(", ")", "."):
            if atom == "(":
                depth += 1
            elif atom == ")":
                depth -= 1
            cut()
            continue
        if depth:
            continue
        if atom == "^":
            if pos == 0 and not multiline and not inside_json:
                start_anchored = True
            else:
                cut()
            continue
        if atom == "$":
            # anchored only where the last literal run ends right at the $
            end_anchored = (
                end == len(pattern) and not multiline and not inside_json and bool(current)
            )
            cut()
            continue
        if atom in ("*", "?"):
            if current:
                current.pop()
            cut()
            continue
        if atom == "+":
            cut()
            continue
        if atom == "{":
            m = _QUANTIFIER.match(pattern, pos)
            if m is None:
                return None
            if int(m.group(1)) == 0 and current:
                current.pop()
            cut()
            skip_to = m.end()
            continue
        if atom == "}":
            return None
        char = atom
        if len(atom) == 2:
            if atom[1].isalnum():
                if atom[1] in "xuck0123456789p":
                    return None
                cut()
                continue
            char = atom[1]
        if _breaks_like_run(char, fold=fold, plain=plain, inside_json=inside_json) or (
            fold and not caseless and char.lower() != char.upper()
        ):
            cut()
            continue
        follows = pattern[end : end + 1]
        if follows in ("*", "?") or (follows == "{" and pattern[end : end + 3].startswith("{0")):
            cut()
            continue
        current.append(char)
    cut()
    runs = [r for r in runs if r]
    if not runs:
        return None
    if plain:  # juggler's % does not cross a newline: one run, unanchored
        return "%" + max(runs, key=len) + "%"
    body = "%".join(_like_escape(r) for r in runs)
    return ("" if start_anchored else "%") + body + ("" if end_anchored else "%")


_MEMORY_LIKE_SPECIAL = frozenset(".*+?^=!:${}()|[]/\\")


def _breaks_like_run(char: str, *, fold: bool, plain: bool, inside_json: bool) -> bool:
    if not _bmp(char) or ord(char) < 0x20 or char == "\x7f":
        return True
    if fold and not char.isascii():
        return True
    if plain and char in _MEMORY_LIKE_SPECIAL:
        return True
    return inside_json and char in '"\\'
