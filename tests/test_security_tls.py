"""TLS to the CA is always verified: a directory whose certificate is not trusted fails with a clear line,
plain http:// is refused everywhere, and no code path can switch verification off.
(`provider add --directory http://...` is covered by tests/test_cli_errors.py.)
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from conftest import Home
from helpers import one_line

from zerossl_tui.devtools.pebble import PebbleServer

SOURCE = Path(__file__).resolve().parent.parent / "zerossl_tui"


def other_ca(path: Path) -> Path:
    """A CA certificate that did not sign Pebble's HTTPS certificate."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.mark.pebble
@pytest.mark.parametrize("trust", ["other CA", "system store"])
def test_a_ca_whose_certificate_is_not_trusted_fails_clearly(home: Home, pebble: PebbleServer, tmp_path: Path,
                                                            trust: str) -> None:
    bundle = ["--ca-bundle", str(other_ca(tmp_path / "other-ca.pem"))] if trust == "other CA" else []
    home.run("provider", "add", "p", "--directory", pebble.directory, *bundle, check=True)
    home.run("add", "t", "-d", "t.example.test", "--provider", "p", "--http-port", str(pebble.http_port),
             "--http-bind", "127.0.0.1", check=True)
    for args in (["issue", "t"], ["provider", "add", "p", "--test"]):
        done = home.run(*args)
        assert done.returncode == 1, done.stderr
        line = one_line(done.stderr).lower()
        assert "certificate" in line or "tls" in line, line
        assert "localhost" in line or "ca_bundle" in line or "--ca-bundle" in line, line
    assert not list(home.data.glob("certificates/t/versions/*"))


def test_plain_http_in_the_settings_file_is_refused(home: Home) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text('[providers.p]\ndirectory = "http://127.0.0.1:14000/dir"\n')
    done = home.run("list")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "https" in line and "line 2" in line


@pytest.mark.parametrize("url", ["HTTP://ca.example/dir", "ftp://ca.example/dir", "//ca.example/dir",
                                 "https:/ca.example/dir", "ca.example/dir", "https://"])
def test_other_schemes_and_malformed_urls_are_refused(home: Home, url: str) -> None:
    done = home.run("provider", "add", "x", "--directory", url)
    assert done.returncode == 2 and "https" in one_line(done.stderr)
    assert not home.config.exists()


def test_a_missing_ca_bundle_is_refused_rather_than_ignored(home: Home, tmp_path: Path) -> None:
    done = home.run("provider", "add", "x", "--directory", "https://127.0.0.1:9/dir", "--ca-bundle",
                    str(tmp_path / "missing.pem"))
    assert done.returncode == 2 and "ca_bundle" in one_line(done.stderr)


def test_no_code_path_turns_verification_off() -> None:
    """requests gets verify=True or a bundle path, never False; no ssl context skips the checks."""
    forbidden = re.compile(r"verify(_ssl)?\s*=\s*False|CERT_NONE|check_hostname\s*=\s*False|_create_unverified"
                           r"|InsecureRequestWarning|disable_warnings")
    # engine/verify.py asks a web server which certificate it presents and compares it byte for byte with
    # ours: trust is not the question there, and nothing is sent over that connection.
    compare_only = {"engine/verify.py"}
    offenders = [f"{path.relative_to(SOURCE)}:{n}" for path in SOURCE.rglob("*.py")
                 if str(path.relative_to(SOURCE)) not in compare_only
                 for n, line in enumerate(path.read_text().splitlines(), 1) if forbidden.search(line)]
    assert offenders == []
    verify_source = (SOURCE / "engine" / "verify.py").read_text()
    assert "requests" not in verify_source and ".send" not in verify_source and ".write" not in verify_source
