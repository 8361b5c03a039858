"""Printing for the operations commands (import, verify, notify): plain lines, or JSON with --json."""

from __future__ import annotations

import json
from typing import Any

from ..core.imported import ImportItem, ImportReport
from ..core.served import EndpointCheck
from .output import printable

_VERBS = {"import": ("imported", "would import"), "skip": ("skipped", "would skip"),
          "refuse": ("not imported", "would not import")}


def import_report(report: ImportReport, *, as_json: bool) -> None:
    """One line per certificate with its notes indented under it, then how to stop the old client."""
    if as_json:
        print(json.dumps(_report_dict(report), indent=2))
        return
    for item in report.items:
        print(printable(_item_line(item, report.dry_run)))
        for note in item.notes:
            print("    " + printable(f"note: {note}"))
    for note in report.notes:
        print(printable(f"note: {note}"))
    imported = sum(1 for i in report.items if i.action == "import")
    done = "would import" if report.dry_run else "imported"
    print(printable(f"{report.client} at {report.path}: {done} {imported} of {len(report.items)} certificate(s)"
                    + (" (dry run: nothing was written)" if report.dry_run else "")))
    if imported and report.stop_hint:
        print(printable(f"next: {report.stop_hint}"))


def _item_line(item: ImportItem, dry_run: bool) -> str:
    verb = _VERBS[item.action][1 if dry_run else 0]
    line = f"{verb} {item.name}"
    if item.action == "import":
        line += f" via {item.provider}" + (" (new provider)" if item.new_provider else "")
        line += {"imported": ", account imported", "kept": ", account already here"}.get(item.account, "")
    return line


def _report_dict(report: ImportReport) -> dict[str, Any]:
    return {"client": report.client, "path": report.path, "dry_run": report.dry_run,
            "certificates": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(i).items()}
                             for i in report.items],
            "notes": list(report.notes), "stop_hint": report.stop_hint}


def endpoint_checks(checks: list[EndpointCheck], *, as_json: bool) -> None:
    """One line per endpoint: ok, stale (with the serial it serves) or unreachable (with the error)."""
    if as_json:
        print(json.dumps([vars(c) for c in checks], indent=2))
        return
    if not checks:
        print("no endpoints to verify: add them with `zerossl-tui edit NAME --verify HOST:PORT`")
    for c in checks:
        detail = {"ok": f"serves serial {c.served_serial}",
                  "stale": f"serves serial {c.served_serial}, not the current {c.expected_serial or '(none)'}: "
                           "reload the web server",
                  "unreachable": c.error}.get(c.state, "")
        print(printable(f"{c.name} {c.endpoint}: {c.state}: {detail}"))


def notify_list(urls: list[str], *, as_json: bool = False, only: int = 0) -> None:
    """Numbered, masked URLs (never the URL itself: it holds credentials)."""
    from ..service.notify import masked

    shown = masked(urls)
    if as_json:
        print(json.dumps([{"number": i, "url": u} for i, u in enumerate(shown, 1)], indent=2))
        return
    if not urls:
        print("no notification URLs: add one with `zerossl-tui notify add URL`")
    for i, url in enumerate(shown, 1):
        if not only or i == only:
            print(printable(f"{i}. {url}" + (" (added)" if only else "")))
