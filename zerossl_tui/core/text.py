"""Text from outside (a CA, a file, a hook, a user) made safe to show: the one escaper every output uses.

A CA's problem detail, a domain typed with a control character or a hook's output could otherwise move the
terminal's cursor, change its title, hide text (``\\x1b[8m``) or reorder what is shown (bidirectional
overrides). The command line and the dashboard show such characters as visible escapes (``\\x1b``) instead.
"""

from __future__ import annotations

import re

# C0 and C1 controls (line breaks included: the callers decide whether lines survive), DEL, the Unicode line
# and paragraph separators, and the bidirectional marks, embeddings, overrides and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    return match[0].encode("unicode_escape").decode("ascii")


def escaped(text: str) -> str:
    """``text`` with every unsafe character (line breaks included) written as an escape, nothing else
    changed: one line that says exactly what was there (settings errors quote keys this way)."""
    return _UNSAFE.sub(_escape, text)


def printable(text: str, *, keep_lines: bool = False) -> str:
    """``text`` safe for a terminal: control and bidirectional-override characters written as escapes such
    as ``\\x1b``. By default on one line (runs of white space become one space); with ``keep_lines`` each
    line is kept (and cleaned) on its own."""
    if keep_lines:
        return "\n".join(_UNSAFE.sub(_escape, line.rstrip("\r")) for line in text.split("\n"))
    return _UNSAFE.sub(_escape, " ".join(text.split()))


LONG_WORD = 200  # characters of one unbroken word an error may quote whole


def clipped(text: str, limit: int = LONG_WORD) -> str:
    """``text`` with every run of more than ``limit`` non-blank characters cut to its start and end and its
    length: an error quoting a 100 000-character value stays one line a person can read."""
    keep = limit // 2

    def cut(match: re.Match[str]) -> str:
        word = match[0]
        value = word.strip("'\":,.()")  # the quoted value's own length, without the quotes around it
        return f"{word[:keep]}...{word[-keep // 4:]} ({len(value)} characters)"

    return re.sub(rf"\S{{{limit + 1},}}", cut, text)
