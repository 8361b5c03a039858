"""Damaged files in the filesystem store, as a person meets them through the CLI after a real issuance on
Pebble: a garbled meta.json, a garbage `current` pointer, a garbled cert.pem. Each is named in one line with
its fix; no other version's facts are ever shown as current, and nothing is sent to the CA on a guess."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Home
from helpers import one_line

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import parse_cert

pytestmark = pytest.mark.pebble


def issued_twice(home: Home, pebble: PebbleServer, name: str) -> Path:
    """``name`` issued, then renewed by force (two versions); the folder of the current one."""
    home.run("add", name, "-d", f"{name}.example.test", "--provider", "local", "--http-port",
             str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    home.run("issue", name, check=True)
    home.run("renew", name, "--force", check=True)
    folder = home.data / "certificates" / name
    return folder / "versions" / (folder / "current").read_text().strip()


def row(home: Home, name: str) -> dict[str, object]:
    done = home.run("list", "--json")
    assert done.returncode == 0, done.stderr
    return next(r for r in json.loads(done.stdout) if r["name"] == name)


def only_version(home: Home, pebble: PebbleServer, name: str) -> None:
    home.run("add", name, "-d", f"{name}.example.test", "--provider", "local", "--http-port",
             str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    home.run("issue", name, check=True)


@pytest.mark.parametrize("garbage", ["{not json", '{"serial": 5, "not_before": [], "not_after": 7}'])
def test_a_garbled_meta_json_is_read_from_the_certificate_itself(local_home: Home, pebble: PebbleServer,
                                                                 garbage: str) -> None:
    current = issued_twice(local_home, pebble, "shop")
    only_version(local_home, pebble, "blog")
    truth = parse_cert((current / "cert.pem").read_bytes())
    (current / "meta.json").write_text(garbage)
    shop = row(local_home, "shop")
    assert shop["serial"] == truth.serial and shop["status"] == "valid"
    assert shop["not_after"] == truth.not_after.isoformat()[:-6] + "Z"
    assert str(current / "meta.json") in str(shop["last_error"]) and "renew shop --force" in str(shop["last_error"])
    assert row(local_home, "blog")["status"] == "valid"  # one damaged certificate leaves the others alone
    text = local_home.run("list")
    assert text.returncode == 0 and "shop" in text.stdout
    assert str(current / "meta.json") in text.stderr and "Traceback" not in text.stderr
    local_home.run("renew", "shop", "--force", check=True)  # the fix the line names
    healed = row(local_home, "shop")
    assert healed["last_error"] is None and healed["serial"] != truth.serial


def test_a_garbled_meta_json_and_certificate_show_no_older_version(local_home: Home, pebble: PebbleServer) -> None:
    current = issued_twice(local_home, pebble, "shop")
    (current / "meta.json").write_text("{not json")
    (current / "cert.pem").write_text("garbage\n")
    shop = row(local_home, "shop")
    assert shop["serial"] is None and shop["not_after"] is None and shop["status"] == "failed"
    assert str(current / "meta.json") in str(shop["last_error"]) and "renew shop --force" in str(shop["last_error"])


def test_a_garbage_pointer_stops_revoke_and_renew_heals_it(local_home: Home, pebble: PebbleServer) -> None:
    issued_twice(local_home, pebble, "shop")
    pointer = local_home.data / "certificates" / "shop" / "current"
    pointer.write_text("\x1b[2Jgarbage\n")
    done = local_home.run("revoke", "shop")
    line = one_line(done.stderr)
    assert done.returncode == 1 and str(pointer) in line and "renew shop --force" in line, line
    assert "\x1b" not in line and "\\x1b" in line
    orders = json.loads(local_home.run("log", "shop", "--json", check=True).stdout)
    assert all(o["result"] != "revoked" and "revocation" not in json.dumps(o) for o in orders)
    assert str(pointer) in str(row(local_home, "shop")["last_error"])
    local_home.run("renew", "shop", "--force", check=True)
    healed = pointer.read_text().strip()
    new = parse_cert((pointer.parent / "versions" / healed / "cert.pem").read_bytes())
    assert row(local_home, "shop")["serial"] == new.serial
    local_home.run("revoke", "shop", check=True)


def test_a_garbled_certificate_is_named_by_revoke(local_home: Home, pebble: PebbleServer) -> None:
    current = issued_twice(local_home, pebble, "shop")
    (current / "cert.pem").write_text("garbage\n")
    done = local_home.run("revoke", "shop")
    line = one_line(done.stderr)
    assert done.returncode == 1 and str(current / "cert.pem") in line and "renew shop --force" in line, line
