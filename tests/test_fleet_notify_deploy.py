"""Versions made current elsewhere are deployed from their notifications alone: with the agent's periodic
check an hour away, each new version of either certificate reaches this host's files within seconds, with
its deploy hook run once per version."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from helpers import poll
from pgserver import free_port, pg_dsn, pg_server  # noqa: F401
from test_fleet_agent import self_signed, settings

from zerossl_tui.service.fleet import FleetAgent
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.postgres import ensure_key_file, open_postgresql


def meta(serial: str, name: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {"serial": serial, "not_before": now.isoformat(), "not_after": now.replace(year=2099).isoformat(),
            "domains": [name]}


def serves(path: Path, cert_pem: bytes) -> bool:
    return path.exists() and path.read_bytes() == cert_pem


def test_notified_versions_are_deployed_without_waiting_for_the_periodic_check(
    tmp_path: Path, pg_dsn: str, monkeypatch,  # noqa: F811
) -> None:
    key_file = tmp_path / "fleet.key"
    ensure_key_file(key_file)
    config = settings(tmp_path, pg_dsn, key_file, free_port())
    with config.open("a") as extra:  # the second certificate gets served files of its own
        extra.write(f'certfile = "{tmp_path / "srv" / "api.pem"}"\nkeyfile = "{tmp_path / "srv" / "api.key"}"\n')
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    service = CertificateService(str(config))
    agent = FleetAgent(service, threading.Event(), lambda line: None, check=3600.0)
    other = open_postgresql(pg_dsn, "web-1", key_file, datetime.now(UTC))
    agent.start()
    try:
        assert poll(lambda: other.store.hosts.stale_seconds("web-9") is not None)  # type: ignore[attr-defined]
        threading.Event().wait(1.0)  # past the agent's first full check: from now on only notifications
        for _ in range(3):
            made = {}
            for name in ("site", "api"):
                key_pem, cert_pem, serial = self_signed(f"{name}.fleet.test")
                other.store.save_version(name, key_pem, cert_pem, b"", cert_pem, meta(serial, f"{name}.fleet.test"))
                made[name] = cert_pem
            for name, cert_pem in made.items():
                assert poll(partial(serves, tmp_path / "srv" / f"{name}.pem", cert_pem), timeout=10), name
        assert len((tmp_path / "hook.log").read_text().split()) == 3  # site's hook: once per version
    finally:
        agent.stop()
        other.close()
        service.close()
