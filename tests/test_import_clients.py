"""Import from the real certbot and lego (run against Pebble) and from a hand-built acme.sh store, then
renew with zerossl-tui and check that the web server's files got the new certificate."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.engine.keys import key_matches_cert, parse_cert

pytestmark = pytest.mark.pebble


@pytest.fixture
def webroot(tmp_path: Path, pebble: PebbleServer) -> Iterator[Path]:
    """A plain web server on Pebble's http-01 port serving a web root, as in front of certbot's webroot."""
    root = tmp_path / "www"
    root.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "http.server", str(pebble.http_port), "--bind", "127.0.0.1",
                             "-d", str(root)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            import urllib.request

            urllib.request.urlopen(f"http://127.0.0.1:{pebble.http_port}/", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    yield root
    proc.terminate()
    proc.wait()


def certbot(pebble: PebbleServer, base: Path, web: Path, *domains: str, deploy_hook: str) -> Path:
    config = base / "letsencrypt"
    args = ["certbot", "certonly", "--non-interactive", "--agree-tos", "-m", "ops@example.com", "--no-eff-email",
            "--webroot", "-w", str(web), "--server", pebble.directory, "--config-dir", str(config),
            "--work-dir", str(base / "work"), "--logs-dir", str(base / "logs"), "--deploy-hook", deploy_hook]
    for d in domains:
        args += ["-d", d]
    run_client(args, dict(os.environ, REQUESTS_CA_BUNDLE=str(pebble.ca_bundle)))
    return config


def run_client(args: list[str], env: dict[str, str]) -> None:
    """Run certbot or lego; up to three tries, because the suite's Pebble rejects 5% of nonces on purpose
    and both clients retry a bad nonce only once (a user would simply run them again)."""
    for _ in range(3):
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=180)
        if done.returncode == 0:
            return
    raise AssertionError(done.stderr[-2000:])


def lego(pebble: PebbleServer, base: Path, domain: str) -> Path:
    path = base / "lego"
    env = dict(os.environ, LEGO_CA_CERTIFICATES=str(pebble.ca_bundle))
    run_client(["lego", "--server", pebble.directory, "--email", "ops@example.com", "--accept-tos", "--domains",
                domain, "--http", "--http.port", f"127.0.0.1:{pebble.http_port}", "--path", str(path), "run"], env)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def stored_account_url(home: Home, provider: str) -> str:
    return str(json.loads((home.data / "accounts" / provider / "account.json").read_text())["url"])


def test_certbot_store_is_adopted_and_renewed_into_its_live_files(
    local_home: Home, pebble: PebbleServer, webroot: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "reloaded"
    config = certbot(pebble, tmp_path, webroot, "cb.example.test", "www.cb.example.test",
                     deploy_hook=f"touch {marker}")
    marker.unlink()  # certbot ran it once; from now on zerossl-tui must
    live = config / "live" / "cb.example.test"
    archive_before = snapshot(config / "archive")
    regr_url = json.loads(next((config / "accounts").rglob("regr.json")).read_text())["uri"]

    dry = local_home.run("import", "certbot", "--config-dir", str(config), "--dry-run", check=True)
    assert "would import cb.example.test via local" in dry.stdout
    assert "certbot.timer" in dry.stdout
    assert "cb.example.test" not in local_home.config.read_text()

    first = local_home.run("import", "certbot", "--config-dir", str(config), check=True)
    assert "imported cb.example.test via local, account imported" in first.stdout
    second = local_home.run("import", "certbot", "--config-dir", str(config), check=True)
    assert "imported 0 of 1" in second.stdout and "already managed" in second.stdout
    rows = json.loads(local_home.run("list", "--json", check=True).stdout)
    old_serial = parse_cert((live / "fullchain.pem").read_bytes()).serial
    assert [r["status"] for r in rows if r["name"] == "cb.example.test"] == ["valid"]
    assert stored_account_url(local_home, "local") == regr_url

    done = local_home.run("renew", "--force", "cb.example.test")
    assert done.returncode == 0, done.stderr
    fullchain, privkey = live / "fullchain.pem", live / "privkey.pem"
    assert not fullchain.is_symlink() and not privkey.is_symlink()
    assert parse_cert(fullchain.read_bytes()).serial != old_serial
    assert key_matches_cert(privkey.read_bytes(), fullchain.read_bytes())
    assert parse_cert((live / "chain.pem").read_bytes()).serial != old_serial
    assert snapshot(config / "archive") == archive_before, "certbot's archive must never be written"
    assert marker.exists(), "certbot's deploy hook must run after our renewal"
    assert stored_account_url(local_home, "local") == regr_url, "the certbot account must be the one used"


def test_lego_store_is_adopted_by_host_beside_an_account_of_our_own(
    local_home: Home, pebble: PebbleServer, tmp_path: Path
) -> None:
    path = lego(pebble, tmp_path, "lg.example.test")
    crt, key = path / "certificates" / "lg.example.test.crt", path / "certificates" / "lg.example.test.key"
    old = crt.read_bytes()
    lego_url = json.loads(next((path / "accounts").rglob("account.json")).read_text())["registration"]["uri"]
    local_home.run("provider", "add", "local", "--test", check=True)  # `local` now holds an account of its own
    ours = stored_account_url(local_home, "local")

    first = local_home.run("import", "lego", "--path", str(path), check=True)
    provider = f"lego-localhost-{pebble.port}"
    assert f"imported lg.example.test via {provider} (new provider), account imported" in first.stdout
    assert "does not record how it solved challenges" in first.stdout
    assert "imported 0 of 1" in local_home.run("import", "lego", "--path", str(path), check=True).stdout
    local_home.run("edit", "lg.example.test", "--http-port", str(pebble.http_port), "--http-bind", "127.0.0.1",
                   check=True)

    done = local_home.run("renew", "--force", "lg.example.test")
    assert done.returncode == 0, done.stderr
    assert crt.read_bytes() != old
    assert parse_cert(crt.read_bytes()).serial != parse_cert(old).serial
    assert key_matches_cert(key.read_bytes(), crt.read_bytes())
    assert stored_account_url(local_home, provider) == lego_url, "renewed with lego's account"
    assert stored_account_url(local_home, "local") == ours


def acme_sh_entry(home_dir: Path, version: Path, domain: str, conf: str) -> Path:
    """One ``DOMAIN_ecc`` folder as acme.sh writes it, holding the stored version's files."""
    folder = home_dir / f"{domain}_ecc"
    folder.mkdir(parents=True)
    (folder / f"{domain}.key").write_bytes((version / "privkey.pem").read_bytes())
    (folder / f"{domain}.cer").write_bytes((version / "cert.pem").read_bytes())
    (folder / "ca.cer").write_bytes((version / "chain.pem").read_bytes())
    (folder / "fullchain.cer").write_bytes((version / "fullchain.pem").read_bytes())
    (folder / f"{domain}.conf").write_text(f"Le_Domain='{domain}'\nLe_Alt='no'\nLe_Keylength='ec-256'\n{conf}")
    return folder


def acme_sh_store(src: Home, home_dir: Path, pebble: PebbleServer, marker: Path) -> Path:
    """An acme.sh home laid out as acme.sh writes it, holding a certificate and account made on Pebble:
    one entry installed to served files, one using a dns mode, and one whose key is missing."""
    version = next((src.data / "certificates" / "ash").glob("versions/*"))
    served = home_dir.parent / "srv"
    served.mkdir()
    (served / "key.pem").write_bytes((version / "privkey.pem").read_bytes())
    (served / "full.pem").write_bytes((version / "fullchain.pem").read_bytes())
    reload_cmd = base64.b64encode(f"touch {marker}".encode()).decode()
    acme_sh_entry(home_dir, version, "ash.example.test",
                  f"Le_Webroot='no'\nLe_HTTPPort='{pebble.http_port}'\nLe_API='{pebble.directory}'\n"
                  f"Le_RealKeyPath='{served / 'key.pem'}'\nLe_RealFullChainPath='{served / 'full.pem'}'\n"
                  f"Le_ReloadCmd='__ACME_BASE64__START_{reload_cmd}__ACME_BASE64__END_'\nLe_NextRenewTime='1'\n")
    acme_sh_entry(home_dir, version, "dns.example.test", f"Le_Webroot='dns_cf'\nLe_API='{pebble.directory}'\n")
    (acme_sh_entry(home_dir, version, "bad.example.test", f"Le_API='{pebble.directory}'\n")
     / "bad.example.test.key").unlink()
    ca = home_dir / "ca" / "localhost" / "dir"  # acme.sh drops the port from the folder name
    ca.mkdir(parents=True)
    account = src.data / "accounts" / "local"
    (ca / "account.key").write_bytes((account / "account.key").read_bytes())
    (ca / "ca.conf").write_text(f"ACCOUNT_URL='{stored_account_url(src, 'local')}'\n")
    return served


def test_acme_sh_store_is_adopted_and_renewed_into_its_install_paths(
    local_home: Home, pebble: PebbleServer, tmp_path: Path
) -> None:
    src = Home(tmp_path / "src", tmp_path / "src" / "settings.toml", tmp_path / "src" / "data")
    src.run("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle", str(pebble.ca_bundle),
            check=True)
    src.run("add", "ash", "-d", "ash.example.test", "--provider", "local", "--http-port", str(pebble.http_port),
            "--http-bind", "127.0.0.1", check=True)
    src.run("issue", "ash", check=True)
    marker = tmp_path / "reloaded"
    served = acme_sh_store(src, tmp_path / ".acme.sh", pebble, marker)
    old = (served / "full.pem").read_bytes()

    dry = json.loads(local_home.run("import", "acme.sh", "--home", str(tmp_path / ".acme.sh"), "--dry-run",
                                    "--json", check=True).stdout)
    by_name = {c["name"]: c for c in dry["certificates"]}
    assert by_name["ash.example.test"]["action"] == "import" and by_name["ash.example.test"]["account"] == "imported"
    assert by_name["dns.example.test"]["account"] == "kept", "one account, imported once"
    assert any("dns mode dns_cf is not mapped" in n for n in by_name["dns.example.test"]["notes"])
    assert by_name["bad.example.test"]["action"] == "refuse"
    assert any("bad.example.test.key" in n for n in by_name["bad.example.test"]["notes"])
    assert not (local_home.data / "accounts").exists(), "a dry run writes nothing"

    first = local_home.run("import", "acme.sh", "--home", str(tmp_path / ".acme.sh"), check=True)
    assert "imported ash.example.test via local, account imported" in first.stdout
    assert "not imported bad.example.test" in first.stdout
    assert "acme.sh --uninstall-cronjob" in first.stdout
    assert "bad.example.test" not in local_home.config.read_text()
    imported = json.loads(local_home.run("log", "ash.example.test", "--json", check=True).stdout)
    assert [o["result"] for o in imported] == ["imported"] and imported[0]["serial"] == parse_cert(old).serial
    assert "imported from acme.sh" in imported[0]["events"][0]["message"]
    rows = {r["name"]: r for r in json.loads(local_home.run("list", "--json", check=True).stdout)}
    assert rows["ash.example.test"]["last_result"] == "imported" and rows["ash.example.test"]["status"] == "valid"
    local_home.run("edit", "ash.example.test", "--http-bind", "127.0.0.1", check=True)
    done = local_home.run("renew", "--force", "ash.example.test")
    assert done.returncode == 0, done.stderr
    new = (served / "full.pem").read_bytes()
    assert parse_cert(new).serial != parse_cert(old).serial
    assert key_matches_cert((served / "key.pem").read_bytes(), new)
    assert marker.exists(), "acme.sh's reload command must run as the deploy hook"
    orders = json.loads(local_home.run("log", "ash.example.test", "--json", check=True).stdout)
    assert [o["result"] for o in orders] == ["issued", "imported"]
    assert stored_account_url(local_home, "local") == stored_account_url(src, "local")


def test_a_folder_of_the_wrong_kind_is_one_line(local_home: Home, tmp_path: Path) -> None:
    for client, option in (("certbot", "--config-dir"), ("lego", "--path"), ("acme.sh", "--home")):
        wrong = local_home.run("import", client, option, str(tmp_path / "nowhere"))
        assert wrong.returncode == 2 and f"{client} " in wrong.stderr and "is not a" in wrong.stderr
        assert len(wrong.stderr.strip().splitlines()) == 1
