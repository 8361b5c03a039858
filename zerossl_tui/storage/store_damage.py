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
    bad = meta_faults(meta)
    return f"{path} is damaged (wrong {', '.join(bad)}): {fix(name)}" if bad else ""


def meta_faults(meta: dict[str, Any]) -> list[str]:
    """The keys of a version's metadata that are missing or of the wrong type ([] when sound)."""
    bad = [key for key in ("serial", "not_after") if not _is_text(meta.get(key), key != "serial")]
    if "not_before" in meta and not _is_text(meta["not_before"], True):
        bad.append("not_before")
    if not isinstance(meta.get("domains", []), list):
        bad.append("domains")
    return bad


def row_problem(name: str, version: str, meta: Any) -> str:
    """The line for a fleet database's current version row of ``name`` whose metadata is damaged (not an
    object, or wrong types: a hand-edited row); "" when sound. The row cannot be half-written: a version
    and its pointer are written in one transaction."""
    bad = meta_faults(meta) if isinstance(meta, dict) else ["metadata: not a JSON object"]
    where = f"the current version {escaped(version[:40])} of {name} in the fleet database"
    return f"{where} is damaged (wrong {', '.join(bad)}): {fix(name)}" if bad else ""


def key_problem(name: str, version: str, key_file: Path) -> str:
    """The line for a current version row whose private key does not decrypt with ``key_file`` although
    other secrets of the database do (so the key file is the fleet's and the row is damaged)."""
    return (f"the private key of the current version {escaped(version[:40])} of {name} in the fleet database does"
            f" not decrypt with {key_file}, which opens the database's other secrets: the row is damaged: {fix(name)}")


def _is_text(value: Any, iso_time: bool) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return not iso_time or bool(datetime.fromisoformat(value))
    except ValueError:
        return False
