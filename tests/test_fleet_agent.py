"""The fleet agent of one daemon against a real PostgreSQL, without a CA: a token another host presents is
answered by this host's always-on responder and written into its web root (and removed when withdrawn); a
version another host makes current is deployed here within seconds, with this host's deploy hook."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers import poll
from pgserver import free_port, pg_dsn, pg_server  # noqa: F401

from zerossl_tui.service.fleet import FleetAgent
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.backend import Backend
from zerossl_tui.storage.postgres import ensure_key_file, open_postgresql

TOKEN = "tok_abc-123"


def settings(root: Path, dsn: str, key_file: Path, port: int) -> Path:
    config = root / "config" / "settings.toml"
    config.parent.mkdir(parents=True)
    (root / "www").mkdir()
    config.write_text(f"""
[storage]
backend = "postgresql"
dsn = "{dsn}"
host_id = "web-9"
key_file = "{key_file}"

[certificates.site]
domains = ["site.fleet.test"]
provider = "letsencrypt"
webroot = "{root / 'www'}"
certfile = "{root / 'srv' / 'site.pem'}"
keyfile = "{root / 'srv' / 'site.key'}"
deploy_hook = "sh -c 'echo $ZT_SERIAL >> {root / 'hook.log'}'"

[certificates.api]
domains = ["api.fleet.test"]
provider = "letsencrypt"
http_port = {port}
http_bind = "127.0.0.1"
""")
    return config


@pytest.fixture
def agent_home(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int, Backend]]:  # noqa: F811
    key_file, port = tmp_path / "fleet.key", free_port()
    ensure_key_file(key_file)
    config = settings(tmp_path, pg_dsn, key_file, port)
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    service = CertificateService(str(config))
    cancel = threading.Event()
    logged: list[str] = []
    agent = FleetAgent(service, cancel, logged.append)
    other = open_postgresql(pg_dsn, "web-1", key_file, datetime.now(UTC))  # another host of the fleet
    agent.start()
    try:
        yield tmp_path, port, other
    finally:
        agent.stop()
        other.close()
        service.close()


def fetch(port: int, token: str) -> str | None:
    """The responder's answer for ``token``: its body, "" for a 404, None when nothing listens."""
    url = f"http://127.0.0.1:{port}/.well-known/acme-challenge/{token}"
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return str(answer.read().decode())
    except urllib.error.HTTPError as exc:
        return "" if exc.code == 404 else None
    except (urllib.error.URLError, OSError):
        return None


def test_tokens_of_other_hosts_are_answered_and_written_into_the_web_root(
    agent_home: tuple[Path, int, Backend],
) -> None:
    root, port, other = agent_home
    token_file = root / "www" / ".well-known" / "acme-challenge" / TOKEN
    assert poll(lambda: fetch(port, "nothing") == "")  # the agent is up (it listens for notifications first)
    assert not token_file.exists()
    other.challenges.present_token(TOKEN, f"{TOKEN}.thumbprint")
    assert fetch(port, TOKEN) == f"{TOKEN}.thumbprint"  # looked up in the database on the spot
    # Within the notification's delivery, well before the agent's 10-second check would find it.
    assert poll(lambda: token_file.exists() and token_file.read_text() == f"{TOKEN}.thumbprint", timeout=5)
    other.challenges.remove_token(TOKEN)
    assert poll(lambda: not token_file.exists(), timeout=5)
    assert fetch(port, TOKEN) == ""


def self_signed(name: str) -> tuple[bytes, bytes, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now.replace(year=now.year + 1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key_pem, cert.public_bytes(serialization.Encoding.PEM), format(cert.serial_number, "x")


def test_a_version_made_current_elsewhere_is_deployed_here_with_this_hosts_hook(
    agent_home: tuple[Path, int, Backend],
) -> None:
    root, _, other = agent_home
    for _ in range(2):
        key_pem, cert_pem, serial = self_signed("site.fleet.test")
        meta = {"serial": serial, "not_before": datetime.now(UTC).isoformat(),
                "not_after": datetime.now(UTC).replace(year=2099).isoformat(), "domains": ["site.fleet.test"]}
        other.store.save_version("site", key_pem, cert_pem, b"", cert_pem, meta)
        assert poll(lambda cert_pem=cert_pem: (root / "srv" / "site.pem").exists()
                    and (root / "srv" / "site.pem").read_bytes() == cert_pem)
        assert (root / "srv" / "site.key").read_bytes() == key_pem
        assert poll(lambda serial=serial: (root / "hook.log").exists() and serial in (root / "hook.log").read_text())
        hosts = {h.host_id: h.served for h in other.store.hosts.hosts()}  # type: ignore[attr-defined]
        assert poll(lambda serial=serial: {h.host_id: h.served for h in other.store.hosts.hosts()}  # type: ignore[attr-defined]
                    .get("web-9", {}).get("site") == serial), hosts
    assert len((root / "hook.log").read_text().split()) == 2  # once per version, never twice


def test_tokens_a_dead_host_left_behind_are_pruned_once_its_order_is_closed(
    agent_home: tuple[Path, int, Backend],
) -> None:
    root, port, other = agent_home
    token_file = root / "www" / ".well-known" / "acme-challenge" / TOKEN
    order = other.journal.start_order("api", datetime.now(UTC))
    other.challenges.present_token(TOKEN, f"{TOKEN}.thumbprint", order)
    assert poll(lambda: token_file.exists(), timeout=5)
    # The other host dies without withdrawing its token; its order is closed (as a heal closes it).
    other.journal.finish_order(order, "failed", datetime.now(UTC), error_type="interrupted")
    assert poll(lambda: fetch(port, TOKEN) == "", timeout=30)  # pruned by this host's periodic check
    assert poll(lambda: not token_file.exists(), timeout=5)
    assert other.challenges.tokens() == {}  # type: ignore[attr-defined]
