"""JavaScript regular expressions, read the way LoopBack's engine (JavaScript) reads them.

The filter language's ``~`` is evaluated by JavaScript on the server and by Python on the
client. This module reads a pattern with JavaScript's grammar (no ``u`` flag, with the web
browsers' extensions: ``a{,2}``, a lone ``{``, ``}`` and ``]`` are literal text), refuses what
JavaScript rejects and what Python cannot be made to mirror, and translates the rest into a
Python pattern with JavaScript's meaning, spelled out: ``\\d \\w \\s \\b`` are JavaScript's
sets, ``.`` stops at every JavaScript line terminator (``\\n \\r`` U+2028 U+2029), so do ``^``
and ``$`` with ``m``, ``$`` without ``m`` matches only at the very end, and under ``i`` each
letter and set becomes the explicit set of characters JavaScript's case-insensitive
comparison accepts (its ``Canonicalize``: one-character upper case, never from non-ASCII to
ASCII; so ``/k/i`` does not match the Kelvin sign). Strings are UTF-16: ``/^.$/`` does not
match an emoji.

Checking a pattern (:func:`check_portable`, :class:`JsRegex`) reads it without compiling
it; the Python pattern is built and compiled once, when a predicate first needs it
(:func:`js_regex`, cached).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator
from functools import lru_cache

__all__ = [
    "JsRegex",
    "atoms",
    "check_portable",
    "dot_matches_all",
    "js_regex",
    "literal_prefix",
    "utf16_units",
]

_LITERAL_PREFIX = re.compile(r"\^((?:[^\\.^$*+?{}\[\]|()]|\\[^A-Za-z0-9])*)")

# Patterns that need no parse: literal text, identity escapes, \d \w \s and `.`, each with
# at most one quantifier, between an optional ^ and $. Every such pattern is valid.
_SIMPLE = re.compile(
    r"\^?(?:(?:[^\\^$.*+?()\[\]{}|]|\\[^A-Za-z0-9]|\\[dDwWsS]|\.)(?:[*+?]\??)?)*\$?"
)

Ranges = tuple[tuple[int, int], ...]

_LINE_TERMINATORS: Ranges = ((0x0A, 0x0A), (0x0D, 0x0D), (0x2028, 0x2029))
_DIGIT: Ranges = ((0x30, 0x39),)
_WORD: Ranges = ((0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A))
#: JavaScript's \s: WhiteSpace (with every Zs character) and LineTerminator.
_SPACE: Ranges = (
    (0x09, 0x0D),
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
    (0xFEFF, 0xFEFF),
)
_MAX_UNIT = 0xFFFF


def _complement(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    low = 0
    for lo, hi in ranges:
        if lo > low:
            out.append((low, lo - 1))
        low = hi + 1
    if low <= _MAX_UNIT:
        out.append((low, _MAX_UNIT))
    return tuple(out)


_CLASS_ESCAPES: dict[str, Ranges] = {
    "d": _DIGIT,
    "D": _complement(_DIGIT),
    "w": _WORD,
    "W": _complement(_WORD),
    "s": _SPACE,
    "S": _complement(_SPACE),
}
_CONTROL_ESCAPES = {"f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, "v": 0x0B}
# \A \Z \z \G \N \U \a: an escape Python reads as something, JavaScript as the letter itself.
_PYTHON_ONLY_ESCAPES = frozenset("AZzGNUa")
_PYTHON_ONLY_GROUP = re.compile(r"\(\?(?:P|#|>|\(|[aiLmsux-]+[:)])")
_BRACES = re.compile(r"\{(\d+)(?:(,)(\d*))?\}")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_OCTAL = re.compile(r"[0-7]{1,2}")
#: JavaScript (V8) reads a larger count as infinite.
_MAX_COUNT = 2**31 - 2
_MAX_DEPTH = 200

# JavaScript's case-insensitive classes (no u flag) over the BMP: each entry is
# "start+delta[*count[/stride]]", `count` pairs (c, c + delta) from `start` on, `stride`
# apart, or "a,b,c", a class of three or four. Two code units match each other under `i`
# exactly when they are in one class: Canonicalize(ch), the character's toUpperCase when
# that is one code unit and not an ASCII one for a non-ASCII ch. Generated from Node.js
# (V8, Unicode 17); tests/conformance/test_regex_engine.py checks it against V8.
_CASE_TABLE = (
    "41+20*1a c0+20*17 d8+20*7 ff+79 100+1*18/2 132+1*3/2 139+1*8/2 14a+1*17/2 179+1*3/2 "
    "180+c3 181+d2 182+1*2/2 186+ce 187+1 189+cd*2 18b+1 18e+4f 18f+ca 190+cb 191+1 "
    "193+cd 194+cf 195+61 196+d3 197+d1 198+1 19a+a3 19b+a641 19c+d3 19d+d5 19e+82 "
    "19f+d6 1a0+1*3/2 1a6+da 1a7+1 1a9+da 1ac+1 1ae+da 1af+1 1b1+d9*2 1b3+1*2/2 1b7+db "
    "1b8+1 1bc+1 1bf+38 1cd+1*8/2 1de+1*9/2 1f4+1 1f8+1*14/2 222+1*9/2 23a+2a2b 23b+1 "
    "23e+2a28 23f+2a3f*2 241+1 244+45 245+47 246+1*5/2 250+2a1f 251+2a1c 252+2a1e "
    "25c+a54f 261+a54b 264+a567 265+a528 266+a544 26a+a544 26b+29f7 26c+a541 271+29fd "
    "27d+29e7 282+a543 287+a52a 29d+a515 29e+a512 370+1*2/2 376+1 37b+82*3 37f+74 386+26 "
    "388+25*3 38c+40 38e+3f*2 391+20*2/2 394+20*2/2 397+20 39b+20*2/2 39e+20*2 3a4+20*2 "
    "3a7+20*5 3cf+8 3d8+1*c/2 3f2+7 3f7+1 3fa+1 400+50*10 410+20*2 413+20*2/2 416+20*8 "
    "41f+20*2 423+20*7 42b+20*5 460+1 464+1*f/2 48a+1*1b/2 4c0+f 4c1+1*7/2 4d0+1*30/2 "
    "531+30*26 10a0+1c60*26 10c7+1c60 10cd+1c60 10d0+bc0*2b 10fd+bc0*3 13a0+97d0*50 "
    "13f0+8*6 1c89+1 1d79+8a04 1d7d+ee6 1d8e+8a38 1e00+1*30/2 1e62+1*1a/2 1ea0+1*30/2 "
    "1f00+8*8 1f10+8*6 1f20+8*8 1f30+8*8 1f40+8*6 1f51+8*4/2 1f60+8*8 1f70+4a*2 "
    "1f72+56*4 1f76+64*2 1f78+80*2 1f7a+70*2 1f7c+7e*2 1fb0+8*2 1fd0+8*2 1fe0+8*2 1fe5+7 "
    "2132+1c 2160+10*10 2183+1 24b6+1a*1a 2c00+30*30 2c60+1 2c67+1*3/2 2c72+1 2c75+1 "
    "2c80+1*32/2 2ceb+1*2/2 2cf2+1 a640+1*5/2 a64c+1*11/2 a680+1*e/2 a722+1*7/2 "
    "a732+1*1f/2 a779+1*2/2 a77e+1*5/2 a78b+1 a790+1*2/2 a794+30 a796+1*a/2 a7b3+3a0 "
    "a7b4+1*8/2 a7c7+1*2/2 a7cc+1*8/2 a7f5+1 ff21+20*1a b5,39c,3bc 1c4,1c5,1c6 "
    "1c7,1c8,1c9 1ca,1cb,1cc 1f1,1f2,1f3 345,399,3b9,1fbe 392,3b2,3d0 395,3b5,3f5 "
    "398,3b8,3d1 39a,3ba,3f0 3a0,3c0,3d6 3a1,3c1,3f1 3a3,3c2,3c3 3a6,3c6,3d5 "
    "412,432,1c80 414,434,1c81 41e,43e,1c82 421,441,1c83 422,442,1c84,1c85 42a,44a,1c86 "
    "462,463,1c87 1c88,a64a,a64b 1e60,1e61,1e9b "
)


@lru_cache(maxsize=1)
def _case_classes() -> tuple[list[int], dict[int, tuple[int, ...]]]:
    """Every code unit that has case mates, sorted, and its class (itself included)."""
    mates: dict[int, tuple[int, ...]] = {}
    for entry in _CASE_TABLE.split():
        if "," in entry:
            members = tuple(int(x, 16) for x in entry.split(","))
            for u in members:
                mates[u] = members
            continue
        head, _, repeat = entry.partition("*")
        start, delta = (int(x, 16) for x in head.split("+"))
        count, _, stride = repeat.partition("/")
        for k in range(int(count or "1", 16)):
            a = start + k * int(stride or "1", 16)
            mates[a] = mates[a + delta] = (a, a + delta)
    return sorted(mates), mates


def case_mates(unit: int) -> tuple[int, ...]:
    """The code units JavaScript's ``i`` flag treats as ``unit`` (``unit`` included)."""
    return _case_classes()[1].get(unit, (unit,))


def _fold(ranges: Ranges) -> Ranges:
    """``ranges`` with every case mate added (what a set matches under ``i``)."""
    keys, mates = _case_classes()
    extra: list[tuple[int, int]] = []
    for lo, hi in ranges:
        for unit in keys[bisect_left(keys, lo) : bisect_right(keys, hi)]:
            extra.extend((m, m) for m in mates[unit])
    return _normalise(ranges + tuple(extra)) if extra else ranges


def _normalise(ranges: Ranges) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def atoms(pattern: str) -> Iterator[tuple[int, str, bool]]:
    """Each atom of ``pattern``: (position, text, inside a character class).

    An atom is one character, or a backslash with the character it escapes; the ``[``
    that opens a class is outside it, the ``]`` that closes it inside (as in JavaScript,
    the first ``]`` closes a class).
    """
    in_class = False
    i = 0
    while i < len(pattern):
        atom = pattern[i : i + 2] if pattern[i] == "\\" else pattern[i]
        yield i, atom, in_class
        in_class = atom != "]" if in_class else atom == "["
        i += len(atom)


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


def dot_matches_all(pattern: str) -> str:
    """Rewrite every ``.`` outside a character class as ``[\\s\\S]`` (the ``s`` flag's meaning)."""
    return "".join(
        "[\\s\\S]" if atom == "." and not in_class else atom for _, atom, in_class in atoms(pattern)
    )


# ---------------------------------------------------------------------------------------------
# reading a pattern (JavaScript's grammar, Annex B, no u flag)

# Nodes: ("set", negated, ranges, literal), ("dot",), ("bol",), ("eol",), ("boundary", negated),
# ("group", kind, alternatives), kind one of "(", "(?:", "(?=", "(?!", "(?<=", "(?<!";
# ("ref", group number), ("repeat", node, low, high or None, lazy).
Node = tuple[object, ...]
_LOOKAROUND = ("(?=", "(?!", "(?<=", "(?<!")


class _Frame:
    """A group being read: its alternatives so far, and where it sits."""

    __slots__ = ("alternatives", "kind", "number", "path", "quantified", "start")

    def __init__(self, kind: str, start: int, number: int, path: tuple[tuple[int, int], ...]):
        self.kind = kind
        self.start = start
        self.number = number  # the capture number, 0 if it captures nothing
        self.alternatives: list[list[Node]] = [[]]
        self.path = path  # (id of each enclosing frame, alternative index), outermost first
        self.quantified = False


class Parsed:
    """A pattern read with JavaScript's grammar: its nodes and what a check needs to know."""

    __slots__ = ("alternatives", "backreferences", "groups")

    def __init__(self, alternatives: list[list[Node]], groups: int, backreferences: bool):
        self.alternatives = alternatives
        self.groups = groups
        self.backreferences = backreferences


def _fail(message: str, units: str, at: int) -> ValueError:
    # positions count characters of the pattern as written (an astral character is one)
    shown = at - sum(1 for u in units[:at] if "\udc00" <= u <= "\udfff")
    return ValueError(f"{message} at position {shown}")


class _Reader:
    """One pass over a pattern (in UTF-16 code units), building nodes or failing."""

    def __init__(self, units: str) -> None:
        self.p = units
        self.frames: dict[int, _Frame] = {}
        self.group_frames: dict[int, _Frame] = {}
        self.closed: dict[int, int] = {}  # group number -> position after its ")"
        self.names: dict[str, int] = {}
        self.refs: list[tuple[int, int | str, tuple[tuple[int, int], ...], bool, str]] = []
        self.k_escapes: list[int] = []

    def error(self, message: str, at: int) -> ValueError:
        return _fail(message, self.p, at)

    def read(self) -> Parsed:
        p, n = self.p, len(self.p)
        root = _Frame("", 0, 0, ())
        stack = [root]
        self.frames[id(root)] = root
        groups = 0
        i = 0
        while i < n:
            c = p[i]
            frame = stack[-1]
            seq = frame.alternatives[-1]
            if c == "\\":
                node, i = self.escape(i, stack)
                if node is not None:
                    seq.append(node)
            elif c == "[":
                node, i = self.char_class(i)
                seq.append(node)
            elif c == "(":
                if len(stack) > _MAX_DEPTH:
                    raise self.error("regular expression nested too deeply", i)
                start = i
                kind, name, i = self.group_open(i)
                number = 0
                if kind == "(":
                    groups += 1
                    number = groups
                    if name is not None:
                        if name in self.names:
                            raise self.error(
                                f"redefinition of group name {name!r} as group {number}; "
                                f"was group {self.names[name]}",
                                i - len(name) - 1,
                            )
                        self.names[name] = number
                path = (*frame.path, (id(frame), len(frame.alternatives) - 1))
                child = _Frame(kind, start, number, path)
                self.frames[id(child)] = child
                if number:
                    self.group_frames[number] = child
                stack.append(child)
            elif c == ")":
                if len(stack) == 1:
                    raise self.error("unbalanced parenthesis", i)
                stack.pop()
                if frame.kind == "(?<=" or frame.kind == "(?<!":
                    low, high = _width_of(frame.alternatives)
                    if low != high:
                        raise ValueError("look-behind requires fixed-width pattern")
                i += 1
                if frame.number:
                    self.closed[frame.number] = i
                stack[-1].alternatives[-1].append(
                    ("group", frame.kind, frame.alternatives, id(frame))
                )
            elif c == "|":
                frame.alternatives.append([])
                i += 1
            elif c in "*+?" or (c == "{" and _BRACES.match(p, i)):
                i = self.quantifier(i, seq)
            elif c == "^":
                seq.append(("bol",))
                i += 1
            elif c == "$":
                seq.append(("eol",))
                i += 1
            elif c == ".":
                seq.append(("dot",))
                i += 1
            else:  # a literal, `{`, `}` and `]` included
                seq.append(("set", False, ((ord(c), ord(c)),), True))
                i += 1
        if len(stack) > 1:
            raise self.error("missing ), unterminated subpattern", stack[-1].start)
        self.resolve_refs(groups)
        return Parsed(root.alternatives, groups, bool(self.refs))

    def quantifier(self, i: int, seq: list[Node]) -> int:
        p = self.p
        c = p[i]
        if c == "{":
            m = _BRACES.match(p, i)
            assert m is not None
            low = int(m.group(1))
            high: int | None = (
                low if m.group(2) is None else int(m.group(3)) if m.group(3) else None
            )
            if low > _MAX_COUNT or (high is not None and high > _MAX_COUNT):
                raise ValueError("the repetition number is too large")
            if high is not None and low > high:
                raise self.error("min repeat greater than max repeat", i + 1)
            end = m.end()
        else:
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            end = i + 1
        if not seq:
            raise self.error("nothing to repeat", i)
        last = seq[-1]
        if last[0] == "repeat":
            raise self.error("multiple repeat", i)
        if last[0] in ("bol", "eol", "boundary") or (
            last[0] == "group" and last[1] in ("(?<=", "(?<!")
        ):
            raise self.error("nothing to repeat", i)
        lazy = p[end : end + 1] == "?"
        if lazy:
            end += 1
        if p[end : end + 1] == "+":
            raise ValueError("possessive quantifiers are Python-only regular-expression syntax")
        if last[0] == "group":
            self.frames[last[3]].quantified = True  # type: ignore[index]
        seq[-1] = ("repeat", last, low, high, lazy)
        return end

    def group_open(self, i: int) -> tuple[str, str | None, int]:
        p = self.p
        if p[i + 1 : i + 2] != "?":
            return "(", None, i + 1
        if _PYTHON_ONLY_GROUP.match(p, i):
            raise ValueError(f"{p[i : i + 3]!r}... is Python-only regular-expression syntax")
        for kind in ("(?:", "(?=", "(?!", "(?<=", "(?<!"):
            if p.startswith(kind, i):
                return kind, None, i + len(kind)
        if p.startswith("(?<", i):
            end = p.find(">", i + 3)
            if end < 0:
                raise self.error("missing >, unterminated name", i + 3)
            name = p[i + 3 : end]
            if not name:
                raise self.error("missing group name", i + 3)
            if not name.replace("$", "_").isidentifier():
                raise self.error(f"bad character in group name {name!r}", i + 3)
            return "(", name, end + 1
        if i + 2 >= len(p):
            raise self.error("unexpected end of pattern", i + 2)
        raise self.error(f"unknown extension ?{p[i + 2]}", i + 1)

    def escape(self, i: int, stack: list[_Frame]) -> tuple[Node | None, int]:
        p = self.p
        if i + 1 >= len(p):
            raise self.error("bad escape (end of pattern)", i)
        e = p[i + 1]
        if e in _CLASS_ESCAPES:
            return ("set", False, _CLASS_ESCAPES[e], False), i + 2
        if e == "b" or e == "B":
            return ("boundary", e == "B"), i + 2
        if "1" <= e <= "9":
            m = re.compile(r"\d+").match(p, i + 1)
            assert m is not None
            self.add_ref(i, int(m.group()), stack, "\\" + m.group())
            return ("ref", int(m.group())), m.end()
        if e == "k":
            if p[i + 2 : i + 3] != "<" or p.find(">", i + 3) < 0:
                self.k_escapes.append(i)
                return None, i + 2
            end = p.find(">", i + 3)
            name = p[i + 3 : end]
            self.add_ref(i + 3, name, stack, p[i : end + 1])
            return ("ref", name, self.names), end + 1
        unit, end = self.character_escape(i, in_class=False)
        return ("set", False, ((unit, unit),), True), end

    def character_escape(self, i: int, *, in_class: bool) -> tuple[int, int]:
        """A character escape at ``i``: (its code unit, where it ends)."""
        p = self.p
        e = p[i + 1]
        if e in _CONTROL_ESCAPES:
            return _CONTROL_ESCAPES[e], i + 2
        if e == "0":
            m = _OCTAL.match(p, i + 2)
            return (int(m.group(), 8), m.end()) if m else (0, i + 2)
        if e == "x" or e == "u":
            hexes = (_HEX2 if e == "x" else _HEX4).match(p, i + 2)
            if hexes is None:
                shown = re.compile(r"[0-9A-Fa-f]*").match(p, i + 2)
                assert shown is not None
                raise self.error(f"incomplete escape \\{e}{shown.group()}", i)
            return int(hexes.group(), 16), hexes.end()
        if e in _PYTHON_ONLY_ESCAPES:
            raise ValueError(f"\\{e} is Python-only regular-expression syntax")
        if e.isascii() and e.isalnum():
            raise self.error(f"bad escape \\{e}", i)
        return ord(e), i + 2

    def char_class(self, i: int) -> tuple[Node, int]:
        p, n = self.p, len(self.p)
        j = i + 1
        negated = p[j : j + 1] == "^"
        if negated:
            j += 1
        if p[j : j + 1] == "]":
            raise ValueError("[] and [^] mean different things in JavaScript and Python")
        k = j  # an unescaped "-" before another "-" is refused, as it was when Python read it
        while k < n and p[k] != "]":
            if p[k] == "-" and p[k + 1 : k + 2] == "-":
                raise ValueError("'--' in a character class will mean a set difference in Python")
            k += 2 if p[k] == "\\" else 1
        ranges: list[tuple[int, int]] = []
        while True:
            if j >= n:
                raise self.error("unterminated character set", i)
            if p[j] == "]":
                return ("set", negated, _normalise(tuple(ranges)), False), j + 1
            start = j
            left, j = self.class_atom(j)
            if p[j : j + 1] == "-" and j + 1 < n and p[j + 1] != "]":
                right, end = self.class_atom(j + 1)
                if isinstance(right, tuple):
                    raise self.error(f"bad character range {p[start:j]}-{p[j + 1 : end]}", start)
                if isinstance(left, tuple):  # [\d-z]: \d, "-" and "z" (as JavaScript reads it)
                    ranges.extend(left)
                    ranges.extend(((0x2D, 0x2D), (right, right)))
                elif left > right:
                    raise self.error(f"bad character range {p[start:j]}-{p[j + 1 : end]}", start)
                else:
                    ranges.append((left, right))
                j = end
            elif isinstance(left, tuple):
                ranges.extend(left)
            else:
                ranges.append((left, left))

    def class_atom(self, j: int) -> tuple[int | Ranges, int]:
        """One member of a class: a code unit, or the ranges of a class escape."""
        p = self.p
        if p[j] != "\\":
            return ord(p[j]), j + 1
        if j + 1 >= len(p):
            raise self.error("unterminated character set", j)
        e = p[j + 1]
        if e in _CLASS_ESCAPES:
            return _CLASS_ESCAPES[e], j + 2
        if e == "b":
            return 0x08, j + 2
        if "1" <= e <= "9" or e == "k" or e == "B" or e == "c":
            raise self.error(f"bad escape \\{e}", j)
        return self.character_escape(j, in_class=True)

    def add_ref(self, at: int, target: int | str, stack: list[_Frame], text: str) -> None:
        frame = stack[-1]
        path = (*frame.path, (id(frame), len(frame.alternatives) - 1))
        behind = any(f.kind in ("(?<=", "(?<!") for f in stack)
        self.refs.append((at, target, path, behind, text))

    def resolve_refs(self, groups: int) -> None:
        if self.k_escapes:
            raise self.error("bad escape \\k", self.k_escapes[0])
        for at, target, path, behind, text in self.refs:
            if isinstance(target, str):
                number = self.names.get(target)
                if number is None or number not in self.closed or self.closed[number] > at:
                    raise self.error(f"unknown group name {target!r}", at)
            else:
                number = target
                if number > groups:
                    raise self.error(f"invalid group reference {number}", at + 1)
                if number not in self.closed or self.closed[number] > at:
                    group = self.group_frames[number]
                    inside = any(f == id(group) for f, _ in path)
                    if inside:
                        raise self.error("cannot refer to an open group", at)
                    raise self.error(f"invalid group reference {number}", at + 1)
                if number > 99:
                    raise self.error(f"invalid group reference {number}", at + 1)
            self.check_participation(number, path, behind, text)

    def check_participation(
        self, number: int, path: tuple[tuple[int, int], ...], behind: bool, text: str
    ) -> None:
        """Refuse a backreference unless its group has surely matched, once, when it is read.

        JavaScript matches a reference to a group that has not matched (or whose repetition
        started again) as empty text; Python fails it. They agree when the group is not in
        a repetition, an alternative or a look-around that the reference is outside of.
        """
        group = self.group_frames[number]
        chain = group.path  # the frames around the group (its own alternatives do not matter)
        k = 0
        while k < len(chain) and k < len(path) and chain[k] == path[k]:
            k += 1
        uncertain = behind or group.quantified
        for frame_id, _ in chain[k:]:
            frame = self.frames[frame_id]
            if frame.quantified or frame.kind in _LOOKAROUND or len(frame.alternatives) > 1:
                uncertain = True
        if k < len(chain) and k < len(path) and chain[k][0] == path[k][0]:
            uncertain = True  # another alternative of the same group
        if uncertain:
            raise ValueError(
                f"{text} refers to a group that may not have matched (inside a repetition, an "
                "alternative or a look-around): JavaScript reads it as empty text, Python fails"
            )


def _width_of(alternatives: list[list[Node]]) -> tuple[float, float]:
    """The shortest and longest text ``alternatives`` match, as Python measures it."""
    lows, highs = [], []
    for seq in alternatives:
        low = high = 0.0
        for node in seq:
            a, b = _node_width(node)
            low += a
            high += b
        lows.append(low)
        highs.append(high)
    return min(lows), max(highs)


def _node_width(node: Node) -> tuple[float, float]:
    kind = node[0]
    if kind in ("set", "dot"):
        return 1.0, 1.0
    if kind == "group":
        if node[1] in _LOOKAROUND:
            return 0.0, 0.0
        return _width_of(node[2])  # type: ignore[arg-type]
    if kind == "repeat":
        if node[1][0] == "group" and node[1][1] in ("(?=", "(?!"):  # type: ignore[index]
            return 0.0, 0.0
        a, b = _node_width(node[1])  # type: ignore[arg-type]
        low, high = node[2], node[3]
        return a * low, (b * high if high is not None else (float("inf") if b else 0.0))  # type: ignore[operator]
    if kind == "ref":
        return 0.0, float("inf")
    return 0.0, 0.0


@lru_cache(maxsize=512)
def parse_pattern(pattern: str) -> Parsed:
    """``pattern`` read with JavaScript's grammar; ``ValueError`` says what is wrong."""
    return _Reader(utf16_units(pattern)).read()


@lru_cache(maxsize=1024)
def _check(pattern: str, flags: str) -> None:
    if _SIMPLE.fullmatch(pattern):
        return
    parsed = parse_pattern(pattern)
    if parsed.backreferences and "i" in flags:
        raise ValueError(
            "a backreference with the i flag compares letters as JavaScript does, which "
            "Python cannot mirror"
        )


def check_portable(pattern: str, flags: str = "") -> None:
    """Raise ``ValueError`` unless ``pattern`` is valid JavaScript that Python can mirror.

    Reads the pattern (cached); compiles nothing.
    """
    _check(pattern, flags)


class JsRegex:
    """A JavaScript regular expression (no ``u`` flag), checked; compiled on first search."""

    __slots__ = ("flags", "pattern")

    def __init__(self, pattern: str, flags: str) -> None:
        _check(pattern, flags)
        self.pattern = pattern
        self.flags = flags

    def matcher(self) -> Callable[[str], bool]:
        """A function ``text -> bool``: does the pattern match somewhere in ``text``."""
        return _matcher(self.pattern, self.flags)

    def search(self, text: str) -> bool:
        return _matcher(self.pattern, self.flags)(text)


@lru_cache(maxsize=512)
def _matcher(pattern: str, flags: str) -> Callable[[str], bool]:
    search = js_regex(pattern, flags).search

    def matches(text: str) -> bool:
        if not text.isascii() and max(text) > "\uffff":
            text = utf16_units(text)
        return search(text) is not None

    return matches


@lru_cache(maxsize=512)
def js_regex(pattern: str, flags: str) -> re.Pattern[str]:
    """Compile a JavaScript pattern so Python matches what JavaScript matches.

    The result searches text in UTF-16 code units (see :func:`utf16_units`).
    """
    _check(pattern, flags)
    parsed = parse_pattern(pattern)
    return re.compile(_Writer(flags).alternatives(parsed.alternatives))


# ---------------------------------------------------------------------------------------------
# writing Python


def _char(unit: int) -> str:
    if unit < 0x80 and chr(unit).isalnum():
        return chr(unit)
    return f"\\x{unit:02x}" if unit < 0x100 else f"\\u{unit:04x}"


def _set(ranges: Ranges, negated: bool) -> str:
    if not ranges:
        return "[\\x00-\\uffff]" if negated else "(?!)"
    body = "".join(_char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}" for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"


_WORD_SET = _set(_WORD, False)
_BOUNDARY = f"(?:(?<={_WORD_SET})(?!{_WORD_SET})|(?<!{_WORD_SET})(?={_WORD_SET}))"
_NOT_BOUNDARY = f"(?:(?<={_WORD_SET})(?={_WORD_SET})|(?<!{_WORD_SET})(?!{_WORD_SET}))"
_NOT_TERMINATOR = _set(_LINE_TERMINATORS, True)


class _Writer:
    def __init__(self, flags: str) -> None:
        self.fold = "i" in flags
        self.multiline = "m" in flags
        self.dotall = "s" in flags

    def alternatives(self, alternatives: list[list[Node]]) -> str:
        return "|".join("".join(self.node(n) for n in seq) for seq in alternatives)

    def node(self, node: Node) -> str:
        kind = node[0]
        if kind == "set":
            ranges: Ranges = node[2]  # type: ignore[assignment]
            if self.fold:
                ranges = _fold(ranges)
            if node[3] and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
                return _char(ranges[0][0])
            return _set(ranges, bool(node[1]))
        if kind == "dot":
            return _set((), True) if self.dotall else _NOT_TERMINATOR
        if kind == "bol":
            return f"(?<!{_NOT_TERMINATOR})" if self.multiline else "(?<![\\x00-\\uffff])"
        if kind == "eol":
            return f"(?!{_NOT_TERMINATOR})" if self.multiline else "(?![\\x00-\\uffff])"
        if kind == "boundary":
            return _NOT_BOUNDARY if node[1] else _BOUNDARY
        if kind == "group":
            return f"{node[1]}{self.alternatives(node[2])})"  # type: ignore[arg-type]
        if kind == "ref":  # \1 or \k<name> (with the names of the pattern's groups)
            number = node[1] if len(node) == 2 else node[2][node[1]]  # type: ignore[index]
            return f"(?:\\{number})"
        inner: Node = node[1]  # type: ignore[assignment]
        low: int = node[2]  # type: ignore[assignment]
        high: int | None = node[3]  # type: ignore[assignment]
        if inner[0] == "group" and inner[1] in ("(?=", "(?!"):
            # a repeated look-ahead: JavaScript fails a repetition that matches nothing
            # after the required ones, so it is tested once, or not at all
            return self.node(inner) if low else ""
        count = (
            "*"
            if (low, high) == (0, None)
            else "+"
            if (low, high) == (1, None)
            else "?"
            if (low, high) == (0, 1)
            else f"{{{low},}}"
            if high is None
            else f"{{{low}}}"
            if low == high
            else f"{{{low},{high}}}"
        )
        return f"(?:{self.node(inner)}){count}{'?' if node[4] else ''}"
