"""How a damaged file of a certificate's current version is named: one line with the file, what is wrong
with it and the fix (``renew NAME --force`` writes a new, complete version and points ``current`` at it).
Text read from the file is shown with its control characters escaped."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ..core.text import escaped


def fix(name: str) -> str:
    """The fix for any damaged file of ``name``'s current version."""
    return f"`zerossl-tui renew {name} --force` re-issues the certificate"


def pointer_problem(path: Path, text: str, name: str) -> str:
    """The line for a ``current`` pointer at ``path`` holding ``text``, which names no version."""
    shown = escaped(text[:60]) + ("..." if len(text) > 60 else "") if text else "nothing"
    return f"{path} is damaged: it holds '{shown}', not a version name: {fix(name)}"


def meta_problem(path: Path, meta: dict[str, Any] | None, name: str) -> str:
    """A line saying how the meta.json at ``path`` is damaged; "" when sound, or missing (an incomplete
    version, healed by reading an older one)."""
    if meta is None:
        return f"{path} is damaged (not a JSON object): {fix(name)}" if os.path.lexists(path) else ""
    bad = [key for key in ("serial", "not_after") if not _is_text(meta.get(key), key != "serial")]
    if "not_before" in meta and not _is_text(meta["not_before"], True):
        bad.append("not_before")
    if not isinstance(meta.get("domains", []), list):
        bad.append("domains")
    return f"{path} is damaged (wrong {', '.join(bad)}): {fix(name)}" if bad else ""


def _is_text(value: Any, iso_time: bool) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return not iso_time or bool(datetime.fromisoformat(value))
    except ValueError:
        return False
