"""A wildcard (or a certificate proved over DNS) from another client's store: without a DNS provider it is
refused with a note saying `import --dns NAME`; with one it is imported as dns-01 and really renews through
BIND into the file the web server reads, leaving no TXT record behind."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Home
from dnsservers import ZONE, Bind, bind, bind_resolver
from helpers import started_pebble

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.keys import key_matches_cert, parse_cert

__all__ = ["bind", "bind_resolver"]  # fixtures, imported for pytest
pytestmark = pytest.mark.pebble


@pytest.fixture(scope="module")
def dns_pebble(tmp_path_factory: pytest.TempPathFactory, bind_resolver: Bind) -> Iterator[PebbleServer]:
    server = started_pebble(tmp_path_factory.mktemp("pebble-import-dns"),
                            PebbleOptions(authz_reuse=0, dns_server=bind_resolver.server))
    yield server
    server.stop()


def with_dns(home: Home, pebble: PebbleServer, bind: Bind) -> Home:
    home.run("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle", str(pebble.ca_bundle),
             check=True)
    home.run("dns", "add", "bind", "--type", "rfc2136", "--server", bind.server, "--tsig-key-name", "acme",
             "--tsig-secret", bind.secrets["hmac-sha256"], "--zone", ZONE, "--resolver", bind.server,
             "--propagation-timeout", "30", check=True)
    return home


def lego_store(src: Home, pebble: PebbleServer, bind: Bind, folder: Path) -> Path:
    """A lego ``--path`` holding a wildcard issued on Pebble through BIND, named ``_.ZONE`` as lego names it."""
    with_dns(src, pebble, bind)
    src.run("add", "w", "-d", f"*.{ZONE}", "-d", ZONE, "--provider", "local", "--challenge", "dns-01", "--dns",
            "bind", check=True)
    src.run("issue", "w", check=True)
    version = next((src.data / "certificates" / "w").glob("versions/*"))
    certs = folder / "certificates"
    certs.mkdir(parents=True)
    stem = certs / f"_.{ZONE}"
    stem.with_name(stem.name + ".crt").write_bytes((version / "fullchain.pem").read_bytes())
    stem.with_name(stem.name + ".key").write_bytes((version / "privkey.pem").read_bytes())
    stem.with_name(stem.name + ".issuer.crt").write_bytes((version / "chain.pem").read_bytes())
    host = pebble.directory.split("/")[2]
    stem.with_name(stem.name + ".json").write_text(json.dumps({"domain": f"*.{ZONE}",
                                                               "certUrl": f"https://{host}/certZ/1"}))
    return stem.with_name(stem.name + ".crt")


def test_a_wildcard_is_imported_with_dns_and_renews_through_bind(
    home: Home, dns_pebble: PebbleServer, bind: Bind, tmp_path: Path
) -> None:
    src = Home(tmp_path / "src", tmp_path / "src" / "settings.toml", tmp_path / "src" / "data")
    served = lego_store(src, dns_pebble, bind, tmp_path / "lego")
    with_dns(home, dns_pebble, bind)
    name = f"wildcard.{ZONE}"

    refused = json.loads(home.run("import", "lego", "--path", str(tmp_path / "lego"), "--json", check=True).stdout)
    item = {c["name"]: c for c in refused["certificates"]}[name]
    assert item["action"] == "refuse" and any("--dns NAME" in n for n in item["notes"]), item

    done = home.run("import", "lego", "--path", str(tmp_path / "lego"), "--dns", "bind")
    assert done.returncode == 0 and f"imported {name}" in done.stdout, done.stdout + done.stderr
    assert "built-in responder on port 80" not in done.stdout and "wildcard names need dns-01" not in done.stdout
    row = {r["name"]: r for r in json.loads(home.run("list", "--json", check=True).stdout)}[name]
    assert (row["challenge"], row["dns"], row["status"]) == ("dns-01", "bind", "valid")

    old = parse_cert(served.read_bytes()).serial
    renewed = home.run("renew", "--force", name)
    assert renewed.returncode == 0, renewed.stderr
    assert parse_cert(served.read_bytes()).serial != old
    assert key_matches_cert(served.with_name(f"_.{ZONE}.key").read_bytes(), served.read_bytes())
    assert bind.leftovers() == []


def test_an_unknown_dns_provider_is_one_line_and_imports_nothing(home: Home, tmp_path: Path) -> None:
    (tmp_path / "lego" / "certificates").mkdir(parents=True)
    done = home.run("import", "lego", "--path", str(tmp_path / "lego"), "--dns", "nosuch")
    assert done.returncode == 2 and "no DNS provider named 'nosuch'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
