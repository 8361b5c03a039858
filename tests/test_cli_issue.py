"""The command-line contract against a real Pebble: issue, renew, list, log, revoke, remove."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import key_matches_cert, parse_cert

pytestmark = pytest.mark.pebble


def add_cert(home: Home, pebble: PebbleServer, name: str, *domains: str, extra: tuple[str, ...] = ()) -> None:
    args = ["add", name, "--provider", "local", "--http-port", str(pebble.http_port), "--http-bind", "127.0.0.1"]
    for d in domains:
        args += ["-d", d]
    home.run(*args, *extra, check=True)


def served(home: Home, name: str) -> tuple[Path, Path]:
    return home.root / "srv" / name / "fullchain.pem", home.root / "srv" / name / "privkey.pem"


def test_issue_writes_served_pair_with_private_key(local_home: Home, pebble: PebbleServer) -> None:
    cert, key = served(local_home, "shop")
    add_cert(local_home, pebble, "shop", "Shop.Example.test", "www.shop.example.test", "shop.example.test",
             extra=("--certfile", str(cert), "--keyfile", str(key)))
    done = local_home.run("issue", "shop")
    assert done.returncode == 0, done.stderr
    assert "issued serial" in done.stdout
    info = parse_cert(cert.read_bytes())
    assert set(info.domains) == {"shop.example.test", "www.shop.example.test"}
    assert key_matches_cert(key.read_bytes(), cert.read_bytes())
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700


def test_list_json_and_log_show_the_issued_certificate(local_home: Home, pebble: PebbleServer) -> None:
    add_cert(local_home, pebble, "blog", "blog.example.test")
    local_home.run("issue", "blog", check=True)
    rows = json.loads(local_home.run("list", "--json", check=True).stdout)
    row = next(r for r in rows if r["name"] == "blog")
    assert row["status"] == "valid"
    assert row["provider"] == "local" and row["domains"] == ["blog.example.test"]
    assert row["not_after"].endswith("Z") and row["next_renewal"].endswith("Z")
    assert row["renewal_source"] in {"ari", "lifetime"}
    orders = json.loads(local_home.run("log", "blog", "--json", check=True).stdout)
    kinds = [e["kind"] for e in orders[0]["events"]]
    assert orders[0]["result"] == "issued"
    for step in ("order-created", "challenge-presented", "authorization-valid", "finalizing", "issued"):
        assert step in kinds


def test_renew_when_nothing_due_leaves_files_untouched(local_home: Home, pebble: PebbleServer) -> None:
    cert, key = served(local_home, "api")
    add_cert(local_home, pebble, "api", "api.example.test", extra=("--certfile", str(cert), "--keyfile", str(key)))
    local_home.run("issue", "api", check=True)
    before = (cert.read_bytes(), key.read_bytes(), cert.stat().st_mtime_ns)
    done = local_home.run("renew")
    assert done.returncode == 0, done.stderr
    assert "not due" in done.stdout or "nothing is due" in done.stdout
    assert (cert.read_bytes(), key.read_bytes(), cert.stat().st_mtime_ns) == before


def test_forced_renew_gives_new_serial_and_private_key(local_home: Home, pebble: PebbleServer) -> None:
    cert, key = served(local_home, "forced")
    add_cert(local_home, pebble, "forced", "forced.example.test",
             extra=("--certfile", str(cert), "--keyfile", str(key)))
    local_home.run("issue", "forced", check=True)
    first = parse_cert(cert.read_bytes()).serial
    local_home.run("renew", "forced", "--force", check=True)
    assert parse_cert(cert.read_bytes()).serial != first
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert key_matches_cert(key.read_bytes(), cert.read_bytes())


def test_revoke_is_seen_by_the_ca(local_home: Home, pebble: PebbleServer) -> None:
    add_cert(local_home, pebble, "gone", "gone.example.test")
    local_home.run("issue", "gone", check=True)
    serial = json.loads(local_home.run("list", "--json").stdout)[0]["serial"]
    done = local_home.run("revoke", "gone", "--reason", "keyCompromise")
    assert done.returncode == 0, done.stderr
    assert pebble.cert_status(serial) == "Revoked"


def test_a_revoked_certificate_is_shown_revoked_and_replaced_by_the_next_renew(local_home: Home,
                                                                             pebble: PebbleServer) -> None:
    add_cert(local_home, pebble, "bad", "bad.example.test")
    local_home.run("issue", "bad", check=True)
    serial = json.loads(local_home.run("list", "--json").stdout)[0]["serial"]
    local_home.run("revoke", "bad", "--reason", "keyCompromise", check=True)
    row = json.loads(local_home.run("list", "--json").stdout)[0]
    assert (row["status"], row["renewal_source"], row["serial"]) == ("revoked", "revoked", serial)
    assert "revoked" in local_home.run("list").stdout
    done = local_home.run("renew", "--json")
    assert done.returncode == 0, done.stderr
    row = json.loads(local_home.run("list", "--json").stdout)[0]
    assert row["status"] == "valid" and row["serial"] != serial


def test_remove_stops_managing_but_keeps_files(local_home: Home, pebble: PebbleServer) -> None:
    cert, key = served(local_home, "old")
    add_cert(local_home, pebble, "old", "old.example.test", extra=("--certfile", str(cert), "--keyfile", str(key)))
    local_home.run("issue", "old", check=True)
    local_home.run("remove", "old", check=True)
    assert json.loads(local_home.run("list", "--json").stdout) == []
    assert cert.exists() and key.exists()
    assert local_home.run("issue", "old").returncode == 2


@pytest.mark.parametrize("key_type", ["ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"])
def test_every_key_type_issues(local_home: Home, pebble: PebbleServer, key_type: str) -> None:
    add_cert(local_home, pebble, "k", f"{key_type}.example.test", extra=("--key-type", key_type))
    done = local_home.run("issue", "k", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["certificate"]["domains"] == [f"{key_type}.example.test"]


def test_webroot_serves_tokens_and_cleans_up(local_home: Home, pebble: PebbleServer) -> None:
    import http.server
    import threading
    from functools import partial

    webroot = local_home.root / "www"
    webroot.mkdir()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(webroot))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", pebble.http_port), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        local_home.run("add", "wr", "-d", "wr.example.test", "--provider", "local", "--webroot", str(webroot),
                       check=True)
        done = local_home.run("issue", "wr")
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 0, done.stderr
    assert list((webroot / ".well-known" / "acme-challenge").iterdir()) == []


def test_idn_is_sent_as_punycode(local_home: Home, pebble: PebbleServer) -> None:
    add_cert(local_home, pebble, "idn", "bücher.example.test")
    local_home.run("issue", "idn", check=True)
    row = json.loads(local_home.run("list", "--json").stdout)[0]
    assert row["domains"] == ["xn--bcher-kva.example.test"]
