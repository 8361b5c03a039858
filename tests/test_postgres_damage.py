"""Damaged rows in the fleet database, as a person meets them through the CLI after real issuances on
Pebble: a current version whose metadata was hand-edited to wrong types, and one whose private key no
longer decrypts while the database's other secrets do. Each is named in one line with its fix by `list`,
`revoke` refuses it before anything reaches the CA, and `renew` replaces it. (A half-written version
cannot happen: a version and its pointer are written in one transaction.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Home
from pgserver import PgServer, pg_dsn, pg_server  # noqa: F401
from test_fleet_wakes import fleet_home

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.storage.postgres import ensure_key_file

pytestmark = pytest.mark.pebble


@pytest.fixture
def web(tmp_path: Path, pebble: PebbleServer, pg_dsn: str) -> Home:  # noqa: F811
    """A fleet host with `site` issued and renewed (two versions) and `other` issued once."""
    key_file = tmp_path / "fleet.key"
    ensure_key_file(key_file)
    home = fleet_home(tmp_path / "web-1", "web-1", pebble, pg_dsn, key_file)
    with home.config.open("a") as extra:
        extra.write(f'[certificates.other]\ndomains = ["other.fleet.test"]\nprovider = "local"\nhttp_port ='
                    f' {pebble.http_port}\nhttp_bind = "127.0.0.1"\n')
    home.run("issue", "site", check=True)
    home.run("renew", "site", "--force", check=True)
    home.run("issue", "other", check=True)
    return home


def rows(home: Home) -> dict[str, dict[str, object]]:
    done = home.run("list", "--json")
    assert done.returncode == 0, done.stderr
    return {str(r["name"]): r for r in json.loads(done.stdout)}


def damage(pg_server: PgServer, dsn: str, change: str) -> None:  # noqa: F811
    """Apply ``change`` (a SET clause) to site's current version row."""
    pg_server.psql(f"UPDATE versions v SET {change} FROM current_versions c WHERE c.cert = 'site' AND"
                   " v.cert = c.cert AND v.version = c.version", dsn.rsplit("/", 1)[1])


def orders(home: Home) -> list[str]:
    return [o["result"] for o in json.loads(home.run("log", "site", "--json", check=True).stdout)]


@pytest.mark.parametrize(("change", "says"), [
    ("meta = meta || '{\"serial\": 5, \"not_after\": []}'", "wrong serial, not_after"),
    ("meta = '\"garbage\"'", "not a JSON object"),
    ("key_sealed = (SELECT key_sealed FROM versions WHERE cert = 'other')", "does not decrypt"),
])
def test_a_damaged_current_row_is_named_refused_by_revoke_and_replaced_by_renew(
        web: Home, pg_server: PgServer, pg_dsn: str, change: str, says: str) -> None:  # noqa: F811
    before = rows(web)["site"]["serial"]
    damage(pg_server, pg_dsn, change)
    site = rows(web)["site"]
    assert says in str(site["last_error"]) and "renew site --force" in str(site["last_error"])
    assert site["serial"] != before  # no facts shown from a damaged row (nor from another version)
    assert rows(web)["other"]["last_error"] is None  # one damaged row leaves the others alone
    listed = web.run("list")
    assert listed.returncode == 0 and says in listed.stderr and "Traceback" not in listed.stderr
    history = orders(web)
    revoked = web.run("revoke", "site")
    assert revoked.returncode != 0 and len(revoked.stderr.strip().splitlines()) == 1
    assert says in revoked.stderr and orders(web) == history  # nothing was sent to the CA
    renewed = web.run("renew", "site")  # it is due: a damaged row is replaced, not trusted
    assert renewed.returncode == 0, renewed.stderr
    healed = rows(web)["site"]
    assert healed["last_error"] is None and healed["status"] == "valid" and healed["serial"] not in (None, before)
