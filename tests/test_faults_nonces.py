"""A CA that rejects 40% of good nonces: one `renew` over 100 certificates, concurrently, issues all 100."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Home
from helpers import started_pebble

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.session import AcmeSession
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble
COUNT = 100


@pytest.fixture
def ca(tmp_path: Path) -> Iterator[PebbleServer]:
    server = started_pebble(tmp_path / "pebble", PebbleOptions(nonce_reject=40, authz_reuse=0))
    yield server
    server.stop()


def _settings(ca: PebbleServer) -> str:
    """100 certificates, written at once (adding them one by one rewrites the file 100 times)."""
    lines = ["[renewal]", "concurrency = 10", "order_timeout = 60", "",
             "[providers.local]", f'directory = "{ca.directory}"', f'ca_bundle = "{ca.ca_bundle}"',
             'email = "ops@example.com"', ""]
    for i in range(COUNT):
        lines += [f"[certificates.n{i}]", f'domains = ["n{i}.example.test"]', 'provider = "local"',
                  f"http_port = {ca.http_port}", 'http_bind = "127.0.0.1"', ""]
    return "\n".join(lines)


def test_a_hundred_certificates_all_issue_despite_40_percent_bad_nonces(
        home: Home, ca: PebbleServer, monkeypatch: pytest.MonkeyPatch) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text(_settings(ca))
    retries: list[int] = []
    issue = AcmeSession.issue

    def counting(self: AcmeSession, *args: Any, **kwargs: Any) -> Any:
        try:
            return issue(self, *args, **kwargs)
        finally:
            retries.append(self.nonce_retries)

    monkeypatch.setattr(AcmeSession, "issue", counting)
    service = CertificateService()
    results = service.renew()
    failed = [(name, str(err)) for name, _, err in results if err is not None]
    assert failed == [] and len(results) == COUNT
    assert len({info.serial for _, info, _ in results if info is not None}) == COUNT
    assert sum(retries) > COUNT, "the CA was meant to reject many nonces: the test proves nothing otherwise"
    assert all(view.status.value == "valid" for view in service.views())
