"""How the command line prints: plain text for people, ``--json`` for scripts, one line per error.

Every text line goes through ``say`` (or ``printable``): names, URLs, CA answers and journal messages come
from outside and may hold terminal escapes, which are shown as visible escapes, never sent raw. ``--json``
output is safe as is (``json.dumps`` escapes control characters).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from ..core.errors import Cancelled
from ..core.models import CertificateView, CertInfo, OrderRecord, ProgressEvent
from ..core.settings import Settings
from ..core.text import clipped, printable


def rfc3339(at: datetime | None) -> str | None:
    """UTC time as RFC 3339 with a Z, or None."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="seconds")[:-6] + "Z"  # "+00:00" is always the tail


def say(text: str) -> None:
    """One line on stdout, with control characters escaped."""
    print(printable(text))


def error(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write("zerossl-tui: error: " + printable(clipped(message)) + "\n")


def warning(message: str) -> None:
    """One line on stderr about something that did not stop the command (a notification target down, an
    endpoint not serving the new certificate yet): never labelled ``error``, so the command's own error
    stays the one ``error:`` line a cron mail or a script looks for."""
    sys.stderr.write("zerossl-tui: warning: " + printable(clipped(message)) + "\n")


def log_line(message: str) -> None:
    """A timestamped line on stderr, for the daemon."""
    sys.stderr.write(f"{rfc3339(datetime.now(UTC))} {printable(message)}\n")
    sys.stderr.flush()


def progress(event: ProgressEvent) -> None:
    """A step of a running order, on stderr."""
    wait = f" (retry after {event.retry_after:.0f} s)" if event.retry_after else ""
    sys.stderr.write(printable(f"{event.cert}: {event.kind.value}: {event.message}{wait}") + "\n")
    sys.stderr.flush()


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2))


def view_json(view: CertificateView) -> str:
    """One row of ``list --json`` as JSON text (exactly ``json.dumps(view_dict(view))``)."""
    return _encode_row(view_dict(view))


def json_lines(texts: Sequence[str]) -> None:
    """A JSON array of rows already encoded, one per line (as ``list --json`` prints them)."""
    sys.stdout.write("[\n" + ",\n".join(texts) + "\n]\n" if texts else "[]\n")


def _dump_rows(rows: list[dict[str, Any]]) -> None:
    """A JSON array with one compact object per line: ``indent`` makes ``json`` use its pure-Python encoder,
    about a third of ``list --json`` over 10,000 certificates; this keeps one row per line readable and
    encodes each row with one C encoder made once (``json.dumps`` makes a new one per call: two thirds of
    its cost for a small row). The text is exactly ``json.dumps(row)``'s."""
    json_lines([_encode_row(row) for row in rows])


def _row_encoder() -> Callable[[Any], str]:
    """``json.dumps`` with its default options, made once."""
    if c_make_encoder is None:  # an interpreter without the C accelerator
        return json.dumps
    # the arguments json.JSONEncoder.iterencode passes for json.dumps's defaults, without the cycle check
    # (a row holds no container twice)
    chunks = c_make_encoder(None, json.JSONEncoder().default, encode_basestring_ascii, None, ": ", ", ",
                            False, False, True)
    return lambda value: "".join(chunks(value, 0))


_encode_row = _row_encoder()


def info_dict(info: CertInfo | None) -> dict[str, Any] | None:
    """A certificate's facts for JSON."""
    if info is None:
        return None
    return {"serial": info.serial, "not_before": rfc3339(info.not_before),
            "not_after": rfc3339(info.not_after), "domains": list(info.domains), "issuer": info.issuer,
            "chain": info.chain or None}


def view_dict(view: CertificateView) -> dict[str, Any]:
    """One row of ``list --json``."""
    spec, info = view.spec, view.info
    return {
        "name": spec.name,
        "domains": list(spec.domains),
        "provider": spec.provider,
        "challenge": spec.challenge,
        "dns": spec.dns or None,
        "status": view.status,  # a StrEnum: JSON writes its value (`.value` is a slow property, 10,000 calls)
        "not_after": rfc3339(info.not_after) if info else None,
        "next_renewal": rfc3339(view.next_renewal),
        "renewal_source": view.renewal_source,
        "renewal_explanation": view.explanation or None,
        "serial": info.serial if info else None,
        "last_result": view.last_result or None,
        "last_error": view.last_error or None,
        "chain": (info.chain if info else "") or None,  # view.chain, without a property call per row
    }


def views(rows: Sequence[CertificateView], *, as_json: bool,
          served_by: dict[str, dict[str, str]] | None = None) -> None:
    """``list``; in a fleet, ``served_by`` adds each certificate's host -> serial it serves."""
    if as_json:
        dicts = [view_dict(v) for v in rows]
        if served_by is not None:
            for row in dicts:
                row["served_by"] = served_by.get(row["name"], {})
        _dump_rows(dicts)
        return
    table_of_rows([view_json(v) for v in rows])


def table_of_rows(texts: Sequence[str]) -> None:
    """``list`` as a table, from the rows of ``list --json`` (``view_json``): what they show is what the
    table shows, so ``list`` reuses the rows kept for ``list --json`` (service/listing.py)."""
    if not texts:
        print("no certificates yet: add one with `zerossl-tui add NAME -d DOMAIN --provider P`")
        return
    table: list[tuple[str, ...]] = [("NAME", "DOMAINS", "PROVIDER", "STATUS", "NOT AFTER", "NEXT RENEWAL")]
    for r in json.loads("[" + ",".join(texts) + "]"):  # one call: 10,000 calls cost more than the decoding
        domains = r["domains"][0] + (f" +{len(r['domains']) - 1}" if len(r["domains"]) > 1 else "")
        table.append((r["name"], domains, r["provider"], r["status"], r["not_after"] or "-",
                      f"{r['next_renewal']} ({r['renewal_source']})" if r["next_renewal"] else "-"))
    _columns(table)


def _columns(rows: list[tuple[str, ...]]) -> None:
    table = [tuple(printable(cell) for cell in row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def orders(records: Sequence[OrderRecord], *, as_json: bool) -> None:
    """``log``."""
    if as_json:
        _dump([_order_dict(r) for r in records])
        return
    if not records:
        print("no orders yet")
    for r in records:
        say(f"order {r.id}: {r.result} (started {rfc3339(r.started)}"
            + (f", finished {rfc3339(r.finished)})" if r.finished else ")")
            + (f" serial {r.serial}" if r.serial else ""))
        for e in r.events:
            wait = f" (retry after {e.retry_after:.0f} s)" if e.retry_after else ""
            print(f"  {rfc3339(e.at)}  {printable(e.kind):<20} {printable(e.message)}{wait}")


def _order_dict(r: OrderRecord) -> dict[str, Any]:
    return {
        "id": r.id, "certificate": r.cert, "result": r.result, "started": rfc3339(r.started),
        "finished": rfc3339(r.finished), "serial": r.serial or None, "order_url": r.order_url or None,
        "error_type": r.error_type or None, "error_detail": r.error_detail or None,
        "events": [{"at": rfc3339(e.at), "kind": e.kind, "message": e.message,
                    "retry_after": e.retry_after} for e in r.events],
    }


def issued(name: str, info: CertInfo | None, *, as_json: bool) -> None:
    """``issue``."""
    if as_json:
        _dump({"name": name, "result": "issued", "certificate": info_dict(info)})
    elif info is not None:
        say(f"{name}: issued serial {info.serial}, valid until {rfc3339(info.not_after)}")


def renewals(results: Sequence[tuple[str, CertInfo | None, Exception | None]], *, as_json: bool,
             quiet: bool = False) -> None:
    """``renew``: one line per certificate considered; errors on stderr (with ``--json`` too, so that cron
    mail and logs still say what failed). ``quiet`` leaves out the lines saying nothing happened, so that a
    cron job mails only when a certificate was renewed or failed."""
    if as_json:
        _dump([{"name": n, "result": "failed" if e else ("renewed" if i else "not-due"),
                "certificate": info_dict(i), "error": str(e) if e else None} for n, i, e in results])
        for name, _, err in results:
            if err is not None:
                error(f"{name}: {err}")
        return
    if not results and not quiet:
        print("nothing is due for renewal")
    for name, info, err in results:
        if err is not None:
            error(f"{name}: {err}")
        elif info is None:
            if not quiet:
                say(f"{name}: not due")
        else:
            say(f"{name}: renewed, serial {info.serial}, valid until {rfc3339(info.not_after)}")


def renew_counts(results: Sequence[tuple[str, CertInfo | None, Exception | None]]) -> str:
    """``2 renewed, 1 failed, 3 cancelled, 0 not due``: what a (possibly interrupted) run did."""
    renewed = sum(1 for _, info, err in results if info is not None and err is None)
    cancelled = sum(1 for _, _, err in results if isinstance(err, Cancelled))
    failed = sum(1 for _, _, err in results if err is not None) - cancelled
    not_due = len(results) - renewed - failed - cancelled
    return f"{renewed} renewed, {failed} failed, {cancelled} cancelled, {not_due} not due"


def revoked(name: str, info: CertInfo, *, as_json: bool) -> None:
    """``revoke``."""
    if as_json:
        _dump({"name": name, "result": "revoked", "certificate": info_dict(info)})
    else:
        say(f"{name}: revoked serial {info.serial}; it is now due: the next `renew` (or the daemon) replaces "
            f"it, or `remove {name}` stops managing it")


def providers(settings: Settings, *, as_json: bool) -> None:
    """``provider list``: never shows secrets, only whether EAB is set."""
    rows = [{"name": p.name, "directory": p.directory, "email": p.email or None, "eab": p.has_eab,
             "ca_bundle": p.ca_bundle or None, "preferred_chain": p.preferred_chain or None}
            for p in settings.providers.values()]
    if as_json:
        _dump(rows)
        return
    if not rows:
        print("no providers configured; built-in names work directly: letsencrypt, zerossl, ...")
    for r in rows:
        say(f"{r['name']}: {r['directory']}" + ("  (EAB)" if r["eab"] else ""))
