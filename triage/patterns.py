"""Regular expressions a deployment writes, compiled for RE2: matching takes time linear in the text.

Python's ``re`` backtracks: a routing rule such as ``(a+)+$`` took 12 s on a 26-character
message and would stall a whole batch. RE2 (``google-re2``) never backtracks, at the price of
no backreferences (``\\1``) and no lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``); ``\\d``
and ``\\w`` are ASCII-only there, so write Chinese character classes out (``[一二三]``) or
use ``.``. Python's ``\\uXXXX`` and ``\\UXXXXXXXX`` escapes are accepted (RE2 spells them
``\\x{XXXX}``). Leftmost-first alternation and ``.`` (not newline) behave as in Python.
"""

from __future__ import annotations

import re
from typing import Any

import re2

from triage.exceptions import ConfigError

__all__ = [
    "UserPattern",
    "compile_builtin",
    "compile_user_pattern",
    "first_character_lookahead",
    "first_characters",
    "matched_characters",
]

#: A compiled RE2 pattern: ``search``, ``finditer`` and ``pattern`` as with ``re.Pattern``.
UserPattern = Any

# A \u or \U escape not itself escaped (preceded by an even number of backslashes).
_PYTHON_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8}))")


def compile_user_pattern(pattern: str, where: str) -> UserPattern:
    """Compile a deployment's regex with RE2, or raise :class:`ConfigError` naming ``where`` and the fix."""
    options = re2.Options()
    options.log_errors = False  # the reason goes into our message, not to stderr
    try:
        return re2.compile(_PYTHON_ESCAPE.sub(r"\1\\x{\2\3}", pattern), options)
    except re2.error as error:
        reason = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) else error
        raise ConfigError(
            f"{where}: bad regex {pattern!r}: RE2, the linear-time engine triage runs configured patterns "
            f"on, refuses it ({reason}); rewrite it without backreferences (\\1) or lookaround ((?=, (?!, "
            "(?<=, (?<!): list the alternatives instead (a routing rule can put an exclusion in `unless`)"
        ) from None


def compile_builtin(pattern: str) -> UserPattern:
    """A pattern of triage's own, on RE2 when RE2 can run it, else on ``re`` (it uses lookaround).

    RE2 scans in one pass where ``re`` retries bounded repeats at every position (a reply
    pattern with ``{2,30}?`` took 270 ms on 100 kB with ``re``, under 1 ms with RE2). Every
    built-in pattern is checked for linear time by ``tests/test_regex_budget.py``.
    """
    try:
        return compile_user_pattern(pattern, "a built-in pattern")
    except ConfigError:
        return re.compile(pattern)


def first_character_lookahead(pattern: str) -> str:
    """``(?=[...])`` for the characters a match of ``pattern`` (Python syntax) can start with, or ``""``
    when they cannot be told (``.``, negated classes, classes like ``\\d``, a pattern that can match
    empty). Lookarounds and anchors are passed over: the set found is then a superset, still safe.

    Put before a pattern, it lets ``re`` skip every other position at once: a leading optional group
    (``(社会|城乡)?救助站``) otherwise costs a try of each of its branches at every character. Only for
    patterns compiled with ``re``: RE2 has no lookahead and needs none.
    """
    ranges = _first_character_ranges(pattern)
    if not ranges:
        return ""
    pieces = {
        re.escape(chr(low)) if low == high else f"{re.escape(chr(low))}-{re.escape(chr(high))}" for low, high in ranges
    }
    return "(?=[" + "".join(sorted(pieces)) + "])"


def first_characters(pattern: str) -> str | None:
    """The characters a match of ``pattern`` (Python syntax) can start with, as one string, or None
    when they cannot be told (as for :func:`first_character_lookahead`) or are more than a few hundred."""
    ranges = _first_character_ranges(pattern)
    if not ranges or sum(high - low + 1 for low, high in ranges) > 500:
        return None
    return "".join(sorted({chr(code) for low, high in ranges for code in range(low, high + 1)}))


def _class_members(members: Any) -> tuple[set[tuple[int, int]], bool] | None:
    """The code point ranges of a parsed character class (``[...]``) and whether it holds ``\\d``; None
    for any other member (a negation, ``\\w``, ``\\s``...)."""
    from re import _constants  # type: ignore[attr-defined]  # re's own parser; in every supported Python

    ranges: set[tuple[int, int]] = set()
    digits = False
    for kind, member in members:
        if kind is _constants.LITERAL:
            ranges.add((member, member))
        elif kind is _constants.RANGE:
            ranges.add(member)
        elif kind is _constants.CATEGORY and member is _constants.CATEGORY_DIGIT:
            digits = True
        else:
            return None
    return ranges, digits


def _first_character_ranges(pattern: str) -> set[tuple[int, int]] | None:
    """Code point ranges a match of ``pattern`` can start with; None if unknown or if it can match empty."""
    from re import _constants, _parser  # type: ignore[attr-defined]  # re's own parser; in every supported Python

    def first(items: Any) -> tuple[set[tuple[int, int]], bool] | None:
        """(code point ranges a match can start with, whether ``items`` can match empty); None if unknown."""
        ranges: set[tuple[int, int]] = set()
        for op, value in items:
            if op is _constants.LITERAL:
                return ranges | {(value, value)}, False
            if op is _constants.IN:
                members = _class_members(value)
                if members is None or members[1]:
                    return None
                return ranges | members[0], False
            if op in (_constants.ASSERT, _constants.ASSERT_NOT, _constants.AT):
                continue  # zero-width: the first character consumed comes after it
            if op is _constants.SUBPATTERN:
                alternatives, optional = [value[3]], False
            elif op is _constants.BRANCH:
                alternatives, optional = value[1], False
            elif op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT):
                alternatives, optional = [value[2]], value[0] == 0
            else:
                return None
            for alternative in alternatives:
                found = first(alternative)
                if found is None:
                    return None
                ranges |= found[0]
                optional = optional or found[1]
            if not optional:
                return ranges, False
        return ranges, True

    found = first(_parser.parse(pattern))
    if found is None or found[1]:
        return None
    return found[0]


def matched_characters(pattern: str) -> tuple[set[tuple[int, int]], bool] | None:
    """The characters a match of ``pattern`` (Python syntax) can hold or look behind or ahead at: code
    point ranges, and whether ``\\d`` (any decimal digit) is among them; None when they cannot be listed
    (``.``, negated classes, ``\\w``, ``\\s``, anchors, negative lookaround, flags such as ``(?i)``).

    Every character outside them can then be replaced, a run of them by one such character, without
    moving a match or making one: ``triage.pii`` scans for its trigger words that way.
    """
    from re import _constants, _parser  # type: ignore[attr-defined]  # re's own parser; in every supported Python

    ranges: set[tuple[int, int]] = set()
    digits = False

    def collect(items: Any) -> bool:
        """Add what ``items`` can match to ``ranges``; False if that cannot be told."""
        nonlocal digits
        for op, value in items:
            if op is _constants.LITERAL:
                ranges.add((value, value))
            elif op is _constants.IN:
                members = _class_members(value)
                if members is None:
                    return False
                ranges.update(members[0])
                digits = digits or members[1]
            elif op is _constants.SUBPATTERN:
                if value[1] or value[2] or not collect(value[3]):  # flags added or removed in the group
                    return False
            elif op is _constants.BRANCH:
                if not all(collect(alternative) for alternative in value[1]):
                    return False
            elif op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT):
                if not collect(value[2]):
                    return False
            elif op is _constants.ASSERT:  # a lookahead or lookbehind reads characters too
                if not collect(value[1]):
                    return False
            elif op is _constants.ATOMIC_GROUP:
                if not collect(value):
                    return False
            else:
                return False
        return True

    parsed = _parser.parse(pattern)
    if parsed.state.flags & ~(re.UNICODE | re.VERBOSE) or not collect(parsed):
        return None
    return ranges, digits
