"""Secrets never leak: the EAB HMAC key, a ZeroSSL API key and private keys appear in no output, no journal
row, no log line and not in settings.toml, through a realistic session with successes and failures.

Secrets live only in their 0600 files (secrets.toml, the account key, the stored and served private keys).
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import EAB_HMAC, EAB_KID, Home

from zerossl_tui.devtools.pebble import PebbleServer

pytestmark = pytest.mark.pebble

WRONG_HMAC = "Wr0ngWr0ngWr0ngWr0ngWr0ngWr0ngWr0ngWr0ngWr0"
API_KEY = "apikey0123456789abcdef0123456789ab"
TYPO_SECRET = "typoSecretValue0123456789"
MALFORMED_SECRET = "not!!base64!!secret"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pem_body_lines(pem: bytes) -> list[str]:
    """The base64 lines of a PEM (any one of them in an output would be a leak)."""
    return [line for line in pem.decode().splitlines() if line and not line.startswith("-----")]


def _journal_dump(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


def _daemon_log(home: Home, seconds: float) -> str:
    """Run `daemon` for a while, stop it with SIGTERM, and return everything it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=home.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(seconds)
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    return out + err


def test_no_secret_or_private_key_in_any_output_journal_or_settings(home: Home, pebble_eab: PebbleServer,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZEROSSL_TUI_ZEROSSL_API", f"https://127.0.0.1:{_closed_port()}")
    served = home.root / "srv"
    ca = ["--directory", pebble_eab.directory, "--ca-bundle", str(pebble_eab.ca_bundle)]
    http = ["--http-port", str(pebble_eab.http_port), "--http-bind", "127.0.0.1"]
    outputs: list[str] = []

    def run(*args: str, ok: bool | None = True) -> None:
        done = home.run(*args)
        outputs.append(done.stdout + done.stderr)
        if ok is not None:
            assert (done.returncode == 0) == ok, f"{args}: exit {done.returncode}: {done.stderr}"

    # Successes: an EAB provider, a served certificate, every read-only view, a revocation.
    run("provider", "add", "eab", *ca, "--email", "ops@example.com", "--eab-kid", EAB_KID, "--eab-hmac-key", EAB_HMAC)
    run("add", "s", "-d", "s.example.test", "--provider", "eab", *http, "--certfile", str(served / "cert.pem"),
        "--keyfile", str(served / "key.pem"))
    run("issue", "s", "-v")
    run("renew", "s", "--force", "-v")
    run("renew", "--json")
    run("list")
    run("list", "--json")
    run("log", "s")
    run("log", "s", "--json")
    run("provider", "list")
    run("provider", "list", "--json")
    outputs.append(_daemon_log(home, 1.5))
    run("revoke", "s", "--reason", "superseded", "-v")

    # Failures: a wrong HMAC at the CA, a malformed one, a mistyped option, a ZeroSSL API key that cannot
    # be used (its API is down), a renewal of all of them at once.
    run("provider", "add", "wrong", *ca, "--eab-kid", EAB_KID, "--eab-hmac-key", WRONG_HMAC)
    run("add", "w", "-d", "w.example.test", "--provider", "wrong", *http)
    run("issue", "w", "-v", ok=False)
    run("provider", "add", "wrong", "--test", ok=False)
    run("provider", "add", "bad", *ca, "--eab-kid", EAB_KID, "--eab-hmac-key", MALFORMED_SECRET, ok=False)
    run("provider", "add", "eab", "--eab-kid", EAB_KID, "--eab-hmac-keyy", TYPO_SECRET, ok=False)
    run("provider", "add", "zerossl", *ca, "--api-key", API_KEY)
    run("add", "z", "-d", "z.example.test", "--provider", "zerossl", *http)
    run("issue", "z", "-v", ok=False)
    run("renew", "--force", "-v", ok=False)
    run("revoke", "s", ok=None)  # renewed again just above: revokes the new one
    run("log", "w", "--json")
    run("log", "z", "--json")

    key_files = [served / "key.pem", home.data / "accounts" / "eab" / "account.key",
                 *home.data.glob("certificates/*/versions/*/privkey.pem")]
    private_lines = [line for path in key_files for line in _pem_body_lines(path.read_bytes())]
    secrets = [EAB_HMAC, WRONG_HMAC, API_KEY, TYPO_SECRET, MALFORMED_SECRET]
    places = {
        "command output": "\n".join(outputs),
        "journal": _journal_dump(home.data / "journal.sqlite3"),
        "settings.toml": home.config.read_text(),
    }
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret ({secret[:6]}...) is in the {where}"
        assert "PRIVATE KEY" not in text, f"a private key is in the {where}"
        leaked = [line for line in private_lines if line in text]
        assert not leaked, f"private key material is in the {where}"
    assert "refused the EAB credentials" in places["journal"]  # the failures were journaled, without the values
    assert "cannot reach the ZeroSSL API" in places["journal"]

    secrets_file = home.config.with_name("secrets.toml")
    assert EAB_HMAC in secrets_file.read_text() and API_KEY in secrets_file.read_text()
    for path in (secrets_file, *key_files):
        assert path.stat().st_mode & 0o777 == 0o600, path


def test_journal_and_settings_hold_no_secret_after_a_failed_provider_test(home: Home,
                                                                          pebble_eab: PebbleServer) -> None:
    """`provider add --test` with a wrong HMAC saves nothing, and says why without the value."""
    done = home.run("provider", "add", "t", "--directory", pebble_eab.directory, "--ca-bundle",
                    str(pebble_eab.ca_bundle), "--eab-kid", EAB_KID, "--eab-hmac-key", WRONG_HMAC, "--test")
    assert done.returncode == 1 and WRONG_HMAC not in done.stdout + done.stderr
    assert len([line for line in done.stderr.splitlines() if line.strip()]) == 1
    assert not home.config.with_name("secrets.toml").exists() or WRONG_HMAC not in home.config.with_name(
        "secrets.toml").read_text()
    journal = home.data / "journal.sqlite3"
    assert not journal.exists() or WRONG_HMAC not in _journal_dump(journal)


def test_objects_holding_secrets_leave_them_out_of_their_repr() -> None:
    """What a debugger, a log call or an f-string shows of them."""
    from zerossl_tui.core.models import ProviderSpec
    from zerossl_tui.engine.accounts import AccountState
    from zerossl_tui.storage.store import StoredCert

    key = b"-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
    objects = [
        ProviderSpec(name="p", directory="https://ca.example/dir", eab_kid=EAB_KID, eab_hmac_key=EAB_HMAC,
                     api_key=API_KEY),
        AccountState(key, "https://ca.example/acct/1", EAB_KID, EAB_HMAC),
        StoredCert("n", "0001", key, b"CERT", b"CHAIN", b"CERT CHAIN", {}, Path("/x")),
    ]
    for obj in objects:
        shown = repr(obj) + str(obj)
        assert EAB_HMAC not in shown and API_KEY not in shown and "PRIVATE KEY" not in shown, shown


def test_a_secrets_file_written_readable_by_others_is_made_0600_when_read(home: Home) -> None:
    """A hand-written secrets.toml (umask 022 gives 0644) must not stay readable by every user."""
    home.run("provider", "add", "p", "--directory", "https://ca.example/dir", check=True)
    secrets = home.config.with_name("secrets.toml")
    secrets.write_text(f'[providers.p]\neab_hmac_key = "{EAB_HMAC}"\n')
    secrets.chmod(0o644)
    home.run("list", check=True)
    assert secrets.stat().st_mode & 0o777 == 0o600
