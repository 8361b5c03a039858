"""dns-01 through the command line, as a user runs it: real `zerossl-tui` processes, a real Pebble that
validates through a real BIND (RFC 2136 + TSIG), PowerDNS through lexicon. Wildcard + apex issued and the
zone left clean, `dns test`, secrets kept out of settings.toml and every output, a provider in use kept,
a killed order's records removed at the next start, a manual provider without a person failing at once."""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from conftest import Home
from dnsservers import ZONE, Bind, PowerDns, bind, bind_resolver, pdns, stale_bind
from helpers import started_pebble

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.keys import parse_cert

pytestmark = [pytest.mark.pebble, pytest.mark.dns]
__all__ = ["bind", "bind_resolver", "pdns", "stale_bind"]  # fixtures, imported for pytest
CHALLENGE = f"_acme-challenge.{ZONE}"


@pytest.fixture(scope="module")
def dns_pebble(tmp_path_factory: pytest.TempPathFactory, bind_resolver: Bind) -> Iterator[PebbleServer]:
    """Pebble resolving (and validating dns-01) through a recursive BIND in front of ``bind``."""
    server = started_pebble(tmp_path_factory.mktemp("pebble-dns-cli"),
                            PebbleOptions(authz_reuse=0, dns_server=bind_resolver.server))
    yield server
    server.stop()


@pytest.fixture
def dns_home(home: Home, dns_pebble: PebbleServer) -> Home:
    """A home with the CA `local` (the dns-01 Pebble), made through the CLI."""
    home.run("provider", "add", "local", "--directory", dns_pebble.directory, "--ca-bundle",
             str(dns_pebble.ca_bundle), "--email", "ops@example.net", check=True)
    return home


def add_bind(home: Home, bind: Bind, name: str = "bind", *, secret: str | None = None,
             resolver: str | None = None, timeout: int = 20) -> subprocess.CompletedProcess[str]:
    return home.run("dns", "add", name, "--type", "rfc2136", "--server", bind.server, "--tsig-key-name", "acme",
                    "--tsig-secret", secret or bind.secrets["hmac-sha256"], "--resolver", resolver or bind.server,
                    "--propagation-timeout", str(timeout))


def one_line_error(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_wildcard_and_apex_issued_through_rfc2136_leave_the_zone_clean(dns_home: Home, bind: Bind) -> None:
    saved = add_bind(dns_home, bind)
    assert saved.returncode == 0, saved.stderr
    assert "dns test" in saved.stdout  # saving contacted nothing; it says how to check
    served = dns_home.root / "srv"
    dns_home.run("add", "wild", "-d", f"*.{ZONE}", "-d", ZONE, "--provider", "local", "--challenge", "dns-01",
                 "--dns", "bind", "--certfile", str(served / "cert.pem"), "--keyfile", str(served / "key.pem"),
                 check=True)
    done = dns_home.run("issue", "wild", "-v")
    assert done.returncode == 0, done.stderr
    assert set(parse_cert((served / "cert.pem").read_bytes()).domains) == {f"*.{ZONE}", ZONE}
    rows = json.loads(dns_home.run("list", "--json", check=True).stdout)
    assert rows[0]["challenge"] == "dns-01" and rows[0]["dns"] == "bind" and rows[0]["status"] == "valid"
    kinds = [e["kind"] for e in json.loads(dns_home.run("log", "wild", "--json", check=True).stdout)[0]["events"]]
    assert kinds.count("dns-presented") == 2 and kinds.count("dns-removed") == 2
    assert kinds.index("dns-visible") < kinds.index("authorization-valid")
    assert bind.leftovers() == [] and bind.txt(CHALLENGE) == set()


def test_secrets_live_in_secrets_toml_only_and_never_in_output(dns_home: Home, bind: Bind) -> None:
    secret = bind.secrets["hmac-sha256"]
    outputs = [add_bind(dns_home, bind)]
    settings_text = dns_home.config.read_text()
    secrets_file = dns_home.config.parent / "secrets.toml"
    assert secret not in settings_text and "[dns.bind]" in settings_text
    assert secret in secrets_file.read_text() and stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    dns_home.run("add", "wild", "-d", f"*.{ZONE}", "--provider", "local", "--dns", "bind", check=True)
    outputs += [dns_home.run("issue", "wild", "-v"), dns_home.run("dns", "list", "--json"),
                dns_home.run("dns", "list"), dns_home.run("log", "wild", "--json"), dns_home.run("list", "--json")]
    listed = json.loads(outputs[2].stdout)
    assert listed == [{"name": "bind", "type": "rfc2136", "server": bind.server, "tsig_key_name": "acme",
                       "resolvers": [bind.server], "propagation_timeout": 20, "tsig_secret": "***",
                       "used_by": ["wild"]}]
    assert all(done.returncode == 0 for done in outputs), [d.stderr for d in outputs]
    for done in outputs:
        assert secret not in done.stdout + done.stderr
    assert secret not in (dns_home.data / "journal.sqlite3").read_bytes().decode("latin-1")


def test_dns_test_reports_each_step_and_removes_its_record(dns_home: Home, bind: Bind) -> None:
    add_bind(dns_home, bind)
    done = dns_home.run("dns", "test", "bind", ZONE)
    assert done.returncode == 0, done.stderr
    assert f"ok: a TXT record at {CHALLENGE}" in done.stdout
    for step in ("dns-presented", "dns-visible", "dns-removed"):
        assert f"bind: {step}:" in done.stderr
    assert bind.leftovers() == []


def test_dns_test_with_a_wrong_secret_fails_in_one_line_and_leaves_nothing(dns_home: Home, bind: Bind) -> None:
    wrong = base64.b64encode(secrets.token_bytes(32)).decode()
    add_bind(dns_home, bind, "bad", secret=wrong)
    done = dns_home.run("dns", "test", "bad", ZONE, "-q")
    assert done.returncode == 1
    line = one_line_error(done)
    assert "DNS provider 'bad' (rfc2136)" in line and "BADSIG" in line and wrong not in line
    assert bind.leftovers() == []


def test_wildcard_refused_for_http01_with_a_hint(dns_home: Home) -> None:
    done = dns_home.run("add", "w", "-d", f"*.{ZONE}", "--provider", "local")
    assert done.returncode == 2
    assert "--challenge dns-01 --dns NAME" in one_line_error(done)
    assert not dns_home.config.exists() or "[certificates.w]" not in dns_home.config.read_text()


def test_dns01_needs_a_configured_provider_and_dns_needs_dns01(dns_home: Home, bind: Bind) -> None:
    done = dns_home.run("add", "w", "-d", f"*.{ZONE}", "--provider", "local", "--challenge", "dns-01")
    assert done.returncode == 2 and "dns-01 needs a DNS provider" in one_line_error(done)
    done = dns_home.run("add", "w", "-d", ZONE, "--provider", "local", "--dns", "nope")
    assert done.returncode == 2 and "unknown DNS provider 'nope'" in one_line_error(done)


def test_removing_a_provider_in_use_is_refused(dns_home: Home, bind: Bind) -> None:
    add_bind(dns_home, bind)
    dns_home.run("add", "wild", "-d", f"*.{ZONE}", "--provider", "local", "--dns", "bind", check=True)
    done = dns_home.run("dns", "remove", "bind")
    assert done.returncode == 2 and "used by wild" in one_line_error(done)
    dns_home.run("edit", "wild", "-d", ZONE, "--challenge", "http-01", check=True)
    assert dns_home.run("dns", "remove", "bind").returncode == 0
    assert "[dns.bind]" not in dns_home.config.read_text()
    assert "bind" not in json.loads(dns_home.run("dns", "list", "--json", check=True).stdout or "[]")


def test_records_of_a_killed_issue_are_removed_at_the_next_start(dns_home: Home, bind: Bind,
                                                               stale_bind: Bind) -> None:
    # Visibility is checked on a server that never gets the update: the order waits with the record up.
    add_bind(dns_home, bind, resolver=stale_bind.server, timeout=300)
    dns_home.run("add", "wild", "-d", f"*.{ZONE}", "-d", ZONE, "--provider", "local", "--dns", "bind", check=True)
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "issue", "wild"], env=dns_home.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(bind.txt(CHALLENGE)) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(bind.txt(CHALLENGE)) == 2, "the order never put its records up"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(bind.txt(CHALLENGE)) == 2  # a killed process cleans nothing
    add_bind(dns_home, bind)  # now check visibility where the records really go
    done = dns_home.run("renew", "-v")
    assert done.returncode == 0, done.stderr
    assert "an interrupted order had left it" in done.stderr
    assert bind.leftovers() == []
    killed, renewed = json.loads(dns_home.run("log", "wild", "--json", check=True).stdout)[1::-1]
    assert renewed["result"] == "issued" and killed["result"] != "issued"
    removed = [e["message"] for e in killed["events"] if e["kind"] == "dns-removed"]
    assert len(removed) == 2 and all("interrupted order" in m for m in removed)


def test_record_of_a_killed_dns_test_is_removed_by_the_next_plain_start(dns_home: Home, bind: Bind,
                                                                       stale_bind: Bind) -> None:
    add_bind(dns_home, bind, resolver=stale_bind.server, timeout=300)  # never visible: the test waits
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "dns", "test", "bind", ZONE], env=dns_home.env(),
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not bind.txt(CHALLENGE) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(bind.txt(CHALLENGE)) == 1, "the test never put its record up"
        assert dns_home.run("renew").returncode == 0
        assert len(bind.txt(CHALLENGE)) == 1, "a heal removed the record of a test still running"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert len(bind.txt(CHALLENGE)) == 1  # a killed process cleans nothing
    done = dns_home.run("renew", "-v")  # nothing is due: only the healing runs
    assert done.returncode == 0, done.stderr
    assert "dns test bind: dns-removed:" in done.stderr and bind.leftovers() == []


def test_lexicon_powerdns_through_the_cli(dns_home: Home, pdns: PowerDns) -> None:
    done = dns_home.run("dns", "add", "pd", "--type", "lexicon", "--lexicon-provider", "powerdns",
                        "--option", f"auth_token={pdns.api_key}", "--option", f"pdns_server={pdns.api}",
                        "--zone", ZONE, "--resolver", f"127.0.0.1:{pdns.port}")
    assert done.returncode == 0, done.stderr
    assert pdns.api_key not in dns_home.config.read_text() and pdns.api in dns_home.config.read_text()
    assert pdns.api_key in (dns_home.config.parent / "secrets.toml").read_text()
    tested = dns_home.run("dns", "test", "pd", ZONE)
    assert tested.returncode == 0, tested.stderr
    assert pdns.api_key not in tested.stdout + tested.stderr
    assert pdns.txt(CHALLENGE) == set()
    listed = json.loads(dns_home.run("dns", "list", "--json", check=True).stdout)
    assert listed[0]["options"] == {"auth_token": "***", "pdns_server": pdns.api}


def test_unknown_lexicon_provider_suggests_close_names(dns_home: Home) -> None:
    done = dns_home.run("dns", "add", "pd", "--type", "lexicon", "--lexicon-provider", "powerdsn")
    assert done.returncode == 2 and "did you mean powerdns" in one_line_error(done)
    assert not dns_home.config.exists() or "[dns.pd]" not in dns_home.config.read_text()


def test_manual_provider_without_a_person_fails_at_once_in_one_line(dns_home: Home, bind: Bind) -> None:
    dns_home.run("dns", "add", "person", "--type", "manual", "--resolver", bind.server, check=True)
    dns_home.run("add", "m", "-d", f"*.{ZONE}", "--provider", "local", "--dns", "person", check=True)
    done = dns_home.run("issue", "m", "--non-interactive", timeout=60)
    assert done.returncode == 1
    assert "manual DNS provider needs a person" in one_line_error(done)
    assert json.loads(dns_home.run("log", "m", "--json", check=True).stdout)[0]["result"] == "failed"


def test_a_tsig_key_name_with_control_characters_is_refused(dns_home: Home) -> None:
    done = dns_home.run("dns", "add", "b", "--type", "rfc2136", "--server", "127.0.0.1:53", "--tsig-key-name",
                        "ac\x1b[31mme", "--tsig-secret", base64.b64encode(b"0" * 32).decode())
    assert done.returncode == 2 and "is not a key name" in one_line_error(done)
    assert "\x1b" not in done.stderr
    assert not dns_home.config.exists() or "[dns.b]" not in dns_home.config.read_text()
