"""Autorenewal against a real Pebble: ARI, replaces, backoff that persists, locks, hooks, the daemon."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.keys import parse_cert
from zerossl_tui.service.ari import refresh_ari
from zerossl_tui.service.service import CertificateService

pytestmark = pytest.mark.pebble


def add(home: Home, pebble: PebbleServer, name: str, *extra: str, provider: str = "local") -> None:
    home.run("add", name, "-d", f"{name}.example.test", "--provider", provider, "--http-port",
             str(pebble.http_port), "--http-bind", "127.0.0.1", *extra, check=True)


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_ari_window_is_fetched_and_next_renewal_lies_inside(local_home: Home, pebble: PebbleServer) -> None:
    if not pebble.has_ari():
        pytest.skip("this Pebble has no renewalInfo (install Debian 13's pebble 2.6: .ci/install-pebble)")
    add(local_home, pebble, "ari")
    local_home.run("issue", "ari", check=True)
    service = CertificateService()
    state = refresh_ari(service.deps(), "ari")
    assert state.ari_window_start is not None and state.ari_window_end is not None
    row = json.loads(local_home.run("list", "--json", check=True).stdout)[0]
    assert row["renewal_source"] == "ari"
    at = parse_time(row["next_renewal"])
    assert state.ari_window_start - timedelta(seconds=1) <= at <= state.ari_window_end + timedelta(seconds=1)
    again = refresh_ari(CertificateService().deps(), "ari")
    assert again.ari_chosen == state.ari_chosen, "the chosen moment is kept while the window is the same"


def test_right_after_issue_list_shows_the_ari_moment_inside_the_cas_window(local_home: Home,
                                                                          pebble: PebbleServer) -> None:
    if not pebble.has_ari():
        pytest.skip("this Pebble has no renewalInfo")
    add(local_home, pebble, "fresh")
    local_home.run("issue", "fresh", check=True)
    row = json.loads(local_home.run("list", "--json", check=True).stdout)[0]
    assert row["renewal_source"] == "ari", row
    window = _ca_window(pebble, CertificateService().store.current("fresh").cert_pem)
    at = parse_time(row["next_renewal"])
    assert window[0] <= at <= window[1]
    assert any(e["kind"] == "ari" for e in json.loads(local_home.run("log", "fresh", "--json").stdout)[0]["events"])


def _ca_window(pebble: PebbleServer, cert_pem: bytes) -> tuple[datetime, datetime]:
    """The window the CA's renewalInfo endpoint gives, asked directly (not through zerossl-tui)."""
    import ssl
    import urllib.request

    from zerossl_tui.engine.keys import ari_cert_id

    context = ssl.create_default_context(cafile=str(pebble.ca_bundle))
    with urllib.request.urlopen(pebble.directory, context=context, timeout=10) as answer:
        base = json.load(answer)["renewalInfo"]
    with urllib.request.urlopen(f"{base.rstrip('/')}/{ari_cert_id(cert_pem)}", context=context, timeout=10) as answer:
        window = json.load(answer)["suggestedWindow"]
    return parse_time(window["start"]), parse_time(window["end"])


def test_renewal_order_carries_replaces_and_ca_accepts(local_home: Home, pebble: PebbleServer) -> None:
    if not pebble.has_ari():
        pytest.skip("this Pebble has no renewalInfo")
    add(local_home, pebble, "rep")
    local_home.run("issue", "rep", check=True)
    local_home.run("renew", "rep", "--force", check=True)
    latest = json.loads(local_home.run("log", "rep", "--json", check=True).stdout)[0]
    created = next(e for e in latest["events"] if e["kind"] == "order-created")
    assert "(replaces " in created["message"]
    assert not any("refused replaces" in e["message"] for e in latest["events"])


def test_two_processes_renewing_at_once_make_exactly_one_order(local_home: Home, pebble: PebbleServer) -> None:
    add(local_home, pebble, "race")
    procs = [subprocess.Popen([sys.executable, "-m", "zerossl_tui", "renew", "race"], env=local_home.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    orders = json.loads(local_home.run("log", "race", "--json", check=True).stdout)
    assert [o["result"] for o in orders] == ["issued"]


def test_failure_backs_off_and_the_attempt_time_survives_restarts(home: Home, tmp_path: Path) -> None:
    home.run("provider", "add", "dead", "--directory", "https://127.0.0.1:9/dir", check=True)
    home.run("add", "b", "-d", "b.example.test", "--provider", "dead", check=True)
    assert home.run("renew").returncode == 1
    row = json.loads(home.run("list", "--json").stdout)[0]
    assert row["renewal_source"] == "backoff" and row["status"] == "failed" and row["last_error"]
    assert parse_time(row["next_renewal"]) > datetime.now(UTC)
    done = home.run("renew")  # a new process: the backoff is read back from the state database
    assert done.returncode == 0 and "nothing is due" in done.stdout
    assert len(json.loads(home.run("log", "b", "--json").stdout)) == 1


def test_hooks_get_values_in_environment_and_a_failing_hook_blocks_nothing(
    local_home: Home, pebble: PebbleServer
) -> None:
    out = local_home.root / "hook.out"
    script = local_home.root / "hook.py"
    script.write_text(f"import os\nopen({str(out)!r}, 'a').write(os.environ['ZT_NAME'] + ' ' + "
                      "os.environ['ZT_SERIAL'] + '\\n')\n")
    add(local_home, pebble, "hooked", "--deploy-hook", f"{sys.executable} {script}")
    local_home.run("issue", "hooked", check=True)
    name, serial = out.read_text().split()
    assert name == "hooked" and serial == json.loads(local_home.run("list", "--json").stdout)[0]["serial"]
    local_home.run("edit", "hooked", "--deploy-hook", "/nonexistent/hook", check=True)
    done = local_home.run("renew", "hooked", "--force")
    assert done.returncode == 0, done.stderr
    events = json.loads(local_home.run("log", "hooked", "--json").stdout)[0]["events"]
    assert any(e["kind"] == "hook" and "could not start" in e["message"] for e in events)


def test_daemon_keeps_short_lived_certificates_valid(home: Home, tmp_path: Path) -> None:
    """Certificates living 60 s: the daemon renews each at least twice and none is ever served expired."""
    server = PebbleServer(tmp_path / "p", PebbleOptions(validity_seconds=60)).start()
    daemon = None
    try:
        home.run("provider", "add", "short", "--directory", server.directory, "--ca-bundle",
                 str(server.ca_bundle), check=True)
        names = [f"c{i}" for i in range(5)]
        for name in names:
            add(home, server, name, "--certfile", str(tmp_path / name / "cert.pem"), "--keyfile",
                str(tmp_path / name / "key.pem"), provider="short")
        daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=home.env(),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        served = [tmp_path / name / "cert.pem" for name in names]
        issued_by = time.monotonic() + 120  # generous: the daemon issues them at start, in seconds
        while not all(path.exists() for path in served):
            assert time.monotonic() < issued_by and daemon.poll() is None, \
                f"never issued: {[p.parent.name for p in served if not p.exists()]}"
            time.sleep(0.5)
        serials: dict[str, set[str]] = {n: set() for n in names}
        end = time.monotonic() + 185  # three lifetimes, watched from the first issuance on
        while time.monotonic() < end:
            for name, path in zip(names, served, strict=True):
                info = parse_cert(path.read_bytes())
                assert info.not_after > datetime.now(UTC), f"{name} was served expired"
                serials[name].add(info.serial)
            time.sleep(0.5)
        daemon.terminate()
        _, err = daemon.communicate(timeout=15)
        assert daemon.returncode == 0, err
        for name in names:
            assert len(serials[name]) >= 3, f"{name} renewed {len(serials[name]) - 1} times"
    finally:
        if daemon and daemon.poll() is None:
            daemon.kill()
        server.stop()


def test_sigterm_while_the_daemon_renews_stops_it_cleanly(local_home: Home, pebble: PebbleServer) -> None:
    """systemd's stop: orders in flight end at their next step, nothing is left running, exit 0, no
    traceback (an interrupt raised at an arbitrary point used to land in finalizers, printed and lost)."""
    names = [f"t{i}" for i in range(12)]
    for name in names:
        add(local_home, pebble, name)
    daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=local_home.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.stderr is not None
        lines = [daemon.stderr.readline() for _ in range(2)]  # "daemon started", then "renewing 12 due"
        assert "renewing 12 due" in lines[1], lines
        daemon.terminate()
        _, rest = daemon.communicate(timeout=60)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    err = "".join(lines) + rest
    assert daemon.returncode == 0 and "daemon stopped" in err, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    rows = json.loads(local_home.run("list", "--json").stdout)
    assert all(row["status"] != "issuing" for row in rows), rows
    results = {row["name"]: (row["last_result"], row["last_error"]) for row in rows}
    assert all(result in ("issued", "cancelled", "") for result, _ in results.values()), results


def test_an_ari_window_outside_the_lifetime_falls_back_and_says_why(home: Home, tmp_path: Path) -> None:
    server = PebbleServer(tmp_path / "p", PebbleOptions(validity_seconds=600)).start()
    try:
        if not server.has_ari():
            pytest.skip("this Pebble has no renewalInfo")
        home.run("provider", "add", "short", "--directory", server.directory, "--ca-bundle",
                 str(server.ca_bundle), check=True)
        add(home, server, "brief", provider="short")
        home.run("issue", "brief", check=True)
        refresh_ari(CertificateService().deps(), "brief")  # Pebble's window spans days around a 10-minute life
        row = json.loads(home.run("list", "--json", check=True).stdout)[0]
        assert row["renewal_source"] == "lifetime"
        assert "outside the certificate's lifetime" in row["renewal_explanation"]
    finally:
        server.stop()
