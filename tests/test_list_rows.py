"""Issue 14: `list --json` keeps each row's text from one run to the next (service/listing.py). A kept row
must print exactly what computing it again prints, and never outlive what it was made of: time passing its
next renewal, its last twentieth or its end; a renewal state or an order written by another process; an
edit of settings.toml or of a meta.json; a damaged file."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from test_scale_list import CERTS, NOW, home, meta_file, rewrite  # the fixture and helpers of the copy's tests

from zerossl_tui.cli import output
from zerossl_tui.cli.main import main
from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.models import RenewalState
from zerossl_tui.devtools.demo import store_fake
from zerossl_tui.service.listing import json_rows
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.meta_index import INDEX_FILE

__all__ = ["home"]  # a fixture imported for its use by name


def rows_at(config: Path, now: datetime) -> list[str]:
    """The rows `list --json` prints at ``now`` (kept rows reused where they hold)."""
    service = CertificateService(str(config), clock=FixedClock(now))
    try:
        return json_rows(service, output.view_json)[0]
    finally:
        service.close()


def fresh_at(config: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """The same rows computed from scratch (``views()``, no kept row involved)."""
    service = CertificateService(str(config), clock=FixedClock(now))
    try:
        capsys.readouterr()
        output.views(service.views(), as_json=True)
        return capsys.readouterr().out.splitlines()[1:-1]
    finally:
        service.close()


def kept_count(config: Path) -> int:
    with sqlite3.connect(config.parent.parent / "data" / INDEX_FILE) as db:
        return int(db.execute("SELECT COUNT(*) FROM list_rows_v1").fetchone()[0])


def same(config: Path, now: datetime, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, object]]:
    """Check that the rows with kept texts equal the rows computed again; return them by name."""
    got = rows_at(config, now)
    assert [line.rstrip(",") for line in fresh_at(config, now, capsys)] == got
    return {row["name"]: row for row in map(json.loads, got)}


def test_kept_rows_print_what_computing_them_prints(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = same(home, NOW, capsys)
    kept = kept_count(home)
    assert kept == len(CERTS) - 1  # every issued certificate; "never" (next renewal: now) is made each time
    again = same(home, NOW, capsys)
    assert again == first
    assert {name: again[name]["status"] for name in CERTS} == {
        "valid": "valid", "due": "due", "expiring": "expiring", "expired": "expired", "failed": "failed",
        "revoked": "revoked", "never": "never-issued", "imported": "valid"}


def test_a_kept_row_follows_time(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = same(home, NOW, capsys)
    assert rows["valid"]["status"] == "valid"
    renew_at = datetime.fromisoformat(str(rows["valid"]["next_renewal"]).replace("Z", "+00:00"))
    not_after = datetime.fromisoformat(str(rows["valid"]["not_after"]).replace("Z", "+00:00"))
    second, day = timedelta(seconds=1), timedelta(days=1)
    # and back at the end: a clock set back shows what it showed. A 90-day lifetime: its last twentieth
    # begins 4.5 days before the end.
    walk = [renew_at - second, renew_at + second, not_after - 5 * day, not_after - day, not_after, NOW]
    statuses = [same(home, at, capsys)["valid"]["status"] for at in walk]
    assert statuses == ["valid", "due", "due", "expiring", "expired", "valid"]  # (shown to the second)
    assert same(home, NOW + timedelta(seconds=1), capsys)["never"]["next_renewal"] == "2026-03-01T12:00:01Z"


def test_a_kept_row_follows_the_journal_and_the_files(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same(home, NOW, capsys)
    other = CertificateService(str(home), clock=FixedClock(NOW))  # another process: the daemon
    other.journal.put_state("valid", RenewalState(failures=1, last_error="urn:ietf:params:acme:error:dns: no"))
    order = other.journal.start_order("due", NOW)
    other.journal.finish_order(order, "failed", NOW, error_type="dns", error_detail="NXDOMAIN")
    store_fake(other, "expiring", ("expiring.example.test",), NOW + timedelta(days=80), "0F00AB")
    other.close()
    rows = same(home, NOW, capsys)
    assert (rows["valid"]["status"], rows["valid"]["last_error"]) == ("failed", "urn:ietf:params:acme:error:dns: no")
    assert (rows["due"]["last_result"], rows["due"]["last_error"]) == ("failed", "NXDOMAIN")
    assert (rows["expiring"]["status"], rows["expiring"]["serial"]) == ("valid", "0F00AB")
    meta = meta_file(home, "imported")
    rewrite(meta, meta.read_text().replace('"0008AB"', '"0008AC"'))  # by hand, size and mtime kept
    assert same(home, NOW, capsys)["imported"]["serial"] == "0008AC"
    meta.write_text("{not json")
    row = same(home, NOW, capsys)["imported"]
    assert "meta.json is damaged" in str(row["last_error"])


def test_a_kept_row_follows_settings_toml(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    same(home, NOW, capsys)
    text = home.read_text()
    rewrite(home, text.replace('"valid.example.test"', '"valid.example.tesu"'))
    assert same(home, NOW, capsys)["valid"]["domains"] == ["valid.example.tesu"]


def test_list_json_prints_kept_rows_and_warns_of_damage(home: Path, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The command itself: the same JSON from the first run and the next, and a damaged file still named."""
    monkeypatch.setenv("ZEROSSL_TUI_CONFIG", str(home))
    outputs = []
    try:
        for _ in range(2):
            capsys.readouterr()
            assert main(["list", "--json"]) == 0
            outputs.append(capsys.readouterr())
        (home.parent.parent / "data" / "certificates" / "valid" / "current").write_text("garbage\n")
        assert main(["list", "--json"]) == 0
    finally:
        gc.enable()  # `list` turns the collector off for its short process
    first, second = (json.loads(captured.out) for captured in outputs)
    assert len(second) == len(CERTS) + 900
    for row in first + second:  # a never-issued row is due "now", which may move on between the two runs
        if row["status"] == "never-issued":
            row["next_renewal"] = "now"
    assert [r for r, again in zip(first, second, strict=True) if r != again] == []  # (no diff of 900 rows)
    captured = capsys.readouterr()
    assert "valid: " in captured.err and "current is damaged" in captured.err
    assert os.path.exists(home.parent.parent / "data" / INDEX_FILE)


def test_list_table_from_kept_rows_shows_what_the_views_show(home: Path, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """`list` (the table) is printed from the rows of `list --json`: the same cells as from the views."""
    monkeypatch.setenv("ZEROSSL_TUI_CONFIG", str(home))
    service = CertificateService(str(home))
    expected = [("NAME", "DOMAINS", "PROVIDER", "STATUS", "NOT AFTER", "NEXT RENEWAL")]
    for v in service.views():
        more = f" +{len(v.spec.domains) - 1}" if len(v.spec.domains) > 1 else ""
        expected.append((v.spec.name, v.spec.domains[0] + more, v.spec.provider, v.status.value,
                         output.rfc3339(v.info.not_after) or "-" if v.info else "-",
                         f"{output.rfc3339(v.next_renewal)} ({v.renewal_source})" if v.next_renewal else "-"))
    service.close()
    try:
        for _ in range(2):  # the first run keeps the rows, the second reuses them
            capsys.readouterr()
            assert main(["list"]) == 0
            shown = [line.split() for line in capsys.readouterr().out.splitlines()]
            # the same cells, columns aside; a never-issued row is due "now", which moves on between the two
            assert [cells for cells in shown if cells[3] != "never-issued"] == [
                " ".join(cells).split() for cells in expected if cells[3] != "never-issued"]
            assert len(shown) == len(expected)
    finally:
        gc.enable()
