"""Import from stores of other clients that were edited by hand or laid out oddly: each odd certificate is
refused with a note naming what is wrong, the others are still imported, and nothing ever tracebacks."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer

pytestmark = pytest.mark.pebble


@pytest.fixture
def version(tmp_path: Path, pebble: PebbleServer) -> Path:
    """A folder holding privkey.pem, cert.pem, chain.pem and fullchain.pem issued by the real Pebble."""
    src = Home(tmp_path / "src", tmp_path / "src" / "settings.toml", tmp_path / "src" / "data")
    src.run("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle", str(pebble.ca_bundle),
            check=True)
    src.run("add", "odd", "-d", "odd.example.test", "--provider", "local", "--http-port", str(pebble.http_port),
            "--http-bind", "127.0.0.1", check=True)
    src.run("issue", "odd", check=True)
    return next((src.data / "certificates" / "odd").glob("versions/*"))


def certbot_lineage(config: Path, version: Path, name: str, params: str) -> None:
    """``live/NAME/*.pem`` and ``renewal/NAME.conf`` as certbot writes them, with ``params`` appended to
    ``[renewalparams]``."""
    live = config / "live" / name
    live.mkdir(parents=True)
    for pem in ("privkey", "cert", "chain", "fullchain"):
        (live / f"{pem}.pem").write_bytes((version / f"{pem}.pem").read_bytes())
    (config / "renewal").mkdir(exist_ok=True)
    (config / "renewal" / f"{name}.conf").write_text(
        f"privkey = {live}/privkey.pem\nfullchain = {live}/fullchain.pem\nchain = {live}/chain.pem\n"
        f"[renewalparams]\nserver = https://localhost:1/dir\n{params}")


def acme_sh_entry(home_dir: Path, version: Path, domain: str, conf: str) -> None:
    folder = home_dir / f"{domain}_ecc"
    folder.mkdir(parents=True)
    (folder / f"{domain}.key").write_bytes((version / "privkey.pem").read_bytes())
    (folder / "fullchain.cer").write_bytes((version / "fullchain.pem").read_bytes())
    (folder / f"{domain}.conf").write_text(f"Le_Domain='{domain}'\nLe_API='https://localhost:1/dir'\n{conf}")


def by_name(home: Home, *args: str) -> dict[str, dict[str, object]]:
    done = home.run("import", *args, "--dry-run", "--json", timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return {c["name"]: c for c in json.loads(done.stdout)["certificates"]}


def test_a_port_that_is_not_a_number_refuses_that_certificate_only(
    local_home: Home, version: Path, tmp_path: Path
) -> None:
    config = tmp_path / "letsencrypt"
    certbot_lineage(config, version, "bad-port", "authenticator = standalone\nhttp01_port = abc\n")
    certbot_lineage(config, version, "good", "authenticator = standalone\nhttp01_port = 8080\n")
    found = by_name(local_home, "certbot", "--config-dir", str(config))
    assert found["good"]["action"] == "import"
    assert found["bad-port"]["action"] == "refuse"
    assert any("http01_port 'abc' is not a port number" in n for n in found["bad-port"]["notes"])

    home_dir = tmp_path / ".acme.sh"
    acme_sh_entry(home_dir, version, "bad.example.test", "Le_Webroot='no'\nLe_HTTPPort='[red]x[/]'\n")
    acme_sh_entry(home_dir, version, "good.example.test", "Le_Webroot='no'\nLe_HTTPPort='8080'\n")
    found = by_name(local_home, "acme.sh", "--home", str(home_dir))
    assert found["good.example.test"]["action"] == "import"
    assert found["bad.example.test"]["action"] == "refuse"
    assert any("Le_HTTPPort '[red]x[/]' is not a port number" in n for n in found["bad.example.test"]["notes"])


def test_a_certbot_lineage_named_with_spaces_and_markup_is_imported_under_a_usable_name(
    local_home: Home, version: Path, tmp_path: Path
) -> None:
    config = tmp_path / "letsencrypt"
    certbot_lineage(config, version, "my site [b]x\x1b[31m", "authenticator = standalone\n")
    done = local_home.run("import", "certbot", "--config-dir", str(config))
    assert done.returncode == 0, done.stderr
    assert "imported my-site-b-x-31m via " in done.stdout
    assert local_home.run("list", "--json", check=True).stdout.count('"my-site-b-x-31m"') == 1
    again = local_home.run("import", "certbot", "--config-dir", str(config), check=True)
    assert "already managed" in again.stdout


def test_a_store_without_a_usable_account_does_not_promise_a_new_one_when_ours_is_used(
    local_home: Home, version: Path, tmp_path: Path, pebble: PebbleServer
) -> None:
    local_home.run("add", "own", "-d", "own.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    local_home.run("issue", "own", check=True)  # provider local now has an account of its own
    home_dir = tmp_path / ".acme.sh"
    acme_sh_entry(home_dir, version, "noacct.example.test", "Le_Webroot='no'\n")
    (home_dir / "noacct.example.test_ecc" / "noacct.example.test.conf").write_text(
        f"Le_Domain='noacct.example.test'\nLe_API='{pebble.directory}'\nLe_Webroot='no'\n")
    found = by_name(local_home, "acme.sh", "--home", str(home_dir))["noacct.example.test"]
    assert found["action"] == "import" and found["account"] == "kept"
    assert not any("new account will be registered" in n for n in found["notes"]), found["notes"]
    assert any("the provider's own account is used" in n for n in found["notes"]), found["notes"]


def test_a_renewal_file_naming_a_fifo_or_dev_zero_is_refused_instead_of_hanging(
    local_home: Home, version: Path, tmp_path: Path
) -> None:
    config = tmp_path / "letsencrypt"
    certbot_lineage(config, version, "good", "authenticator = standalone\n")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    (config / "renewal" / "fifo.conf").write_text(f"privkey = {fifo}\nfullchain = {fifo}\n")
    (config / "renewal" / "zero.conf").write_text("privkey = /dev/zero\nfullchain = /dev/zero\n")
    os.mkfifo(config / "renewal" / "pipe.conf")
    found = by_name(local_home, "certbot", "--config-dir", str(config))  # would hang or fill memory
    assert found["good"]["action"] == "import"
    for name in ("fifo", "zero", "pipe"):
        assert found[name]["action"] == "refuse"
        assert any("not a regular file" in n for n in found[name]["notes"]), found[name]
