"""Names from outside are matched whole: a trailing newline is not a name, an IP address is not a DNS name,
and an internationalised name is the one IDNA 2008 (UTS 46) gives, never another domain."""

from __future__ import annotations

import tomllib

import pytest
from conftest import Home

from zerossl_tui.core.domains import validate_name
from zerossl_tui.core.errors import OperationError, UsageError
from zerossl_tui.engine.solvers import WebrootSolver, check_token


def test_a_certificate_name_with_a_trailing_newline_is_refused_and_nothing_is_saved(home: Home) -> None:
    done = home.run("add", "shop\n", "-d", "shop.example.test", "--provider", "letsencrypt")
    assert done.returncode == 2, done.stdout
    assert "invalid certificate name" in done.stderr and done.stderr.count("\n") == 1
    assert not home.config.exists()
    assert home.run("list").returncode == 0


@pytest.mark.parametrize("token", ["tok\n", "A-b_9\n"])
def test_a_token_with_a_newline_is_refused_and_no_file_is_written(tmp_path, token: str) -> None:
    root = tmp_path / "www"
    root.mkdir()
    with pytest.raises(OperationError):
        check_token(token)
    with WebrootSolver(str(root)) as solver, pytest.raises(OperationError):
        solver.present("shop.example.test", token, "tok.thumb")
    assert not [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(("address", "stored"), [("10.0.0.1", "10.0.0.1"), ("::1", "::1"),
                                                 ("[2001:DB8::1]", "2001:db8::1")])
def test_an_ip_address_is_an_ip_identifier_not_a_dns_name(home: Home, address: str, stored: str) -> None:
    # IP address certificates (RFC 8738, issue 18) replaced the earlier refusal: see test_ip_certificates.py.
    done = home.run("add", "ip", "-d", address, "--provider", "letsencrypt")
    assert done.returncode == 0, done.stderr
    assert tomllib.loads(home.config.read_text())["certificates"]["ip"]["domains"] == [stored]


def test_a_scoped_ip_address_is_refused_in_one_line(home: Home) -> None:
    done = home.run("add", "ip", "-d", "fe80::1%eth0", "--provider", "letsencrypt")
    assert done.returncode == 2
    assert "has a zone" in done.stderr and done.stderr.count("\n") == 1 and not home.config.exists()


def test_sharp_s_is_idna_2008_not_another_domain() -> None:
    assert validate_name("faß.de") == "xn--fa-hia.de"
    assert validate_name("FAß.de") == "xn--fa-hia.de"
    assert validate_name("bücher.example") == "xn--bcher-kva.example"


@pytest.mark.parametrize("invisible", ["\u200b", "\u00ad", "\ufeff", "\u2060"])
def test_a_name_with_an_invisible_character_is_refused_not_silently_shortened(invisible: str) -> None:
    with pytest.raises(UsageError, match="invisible character"):
        validate_name(f"fä{invisible}ss.de")


def test_an_invalid_punycode_label_is_refused() -> None:
    with pytest.raises(UsageError, match="punycode"):
        validate_name("xn--zz.example")


def test_idna_through_the_cli_stores_the_idna_2008_name(home: Home) -> None:
    done = home.run("add", "fass", "-d", "faß.de", "--provider", "letsencrypt")
    assert done.returncode == 0, done.stderr
    text = home.config.read_text()
    assert "xn--fa-hia.de" in text and "fass.de" not in text
