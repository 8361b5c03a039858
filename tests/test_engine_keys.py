"""Keys, CSRs and certificates read back (no network)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from zerossl_tui.core.errors import OperationError
from zerossl_tui.core.models import KEY_TYPES
from zerossl_tui.engine import keys


def _self_signed(key_pem: bytes, names: list[str], serial: int, *, with_aki: bool = True) -> bytes:
    key: Any = serialization.load_pem_private_key(key_pem, password=None)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Issuer R1")])
    start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(serial).not_valid_before(start).not_valid_after(start + dt.timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
    )
    if with_aki:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_generated_key_is_pkcs8_of_the_asked_type(key_type: str) -> None:
    pem = keys.generate_key(key_type)
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert keys.key_type_of(pem) == key_type


def test_unknown_key_type_is_refused_with_the_choices() -> None:
    with pytest.raises(OperationError, match="ec256"):
        keys.generate_key("dsa1024")


def test_csr_names_every_domain() -> None:
    pem = keys.make_csr(keys.generate_key("ec256"), ["a.example.com", "b.example.com"])
    csr = x509.load_pem_x509_csr(pem)
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["a.example.com", "b.example.com"]
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "a.example.com"
    assert csr.is_signature_valid


def test_parse_cert_reads_serial_validity_names_and_issuer() -> None:
    key = keys.generate_key("ec256")
    info = keys.parse_cert(_self_signed(key, ["shop.example.com", "www.shop.example.com"], 0x00AB12))
    assert info.serial == "ab12"
    assert info.not_before == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert info.not_after.tzinfo is not None and info.lifetime_seconds == 90 * 86400
    assert info.domains == ("shop.example.com", "www.shop.example.com")
    assert info.issuer == "Test Issuer R1"


BROKEN_PEM = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("garbage", [b"", b"hello", BROKEN_PEM])
def test_malformed_certificate_is_a_clear_error(garbage: bytes) -> None:
    with pytest.raises(OperationError, match="certificate") as info:
        keys.parse_cert(garbage)
    assert "\n" not in str(info.value)


def test_malformed_key_is_a_clear_error() -> None:
    with pytest.raises(OperationError, match="private key"):
        keys.key_type_of(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_split_fullchain_separates_leaf_and_chain() -> None:
    a = _self_signed(keys.generate_key("ec256"), ["a.example.com"], 1)
    b = _self_signed(keys.generate_key("ec256"), ["b.example.com"], 2)
    leaf, chain = keys.split_fullchain(a + b"\n" + b)
    assert leaf == a and chain == b
    assert keys.split_fullchain(a) == (a, b"")
    with pytest.raises(OperationError):
        keys.split_fullchain(b"nothing here")


def test_key_matches_only_its_own_certificate() -> None:
    key, other = keys.generate_key("ec256"), keys.generate_key("rsa2048")
    cert = _self_signed(key, ["a.example.com"], 7)
    assert keys.key_matches_cert(key, cert)
    assert not keys.key_matches_cert(other, cert)


@pytest.mark.parametrize("serial", [0x7F, 0x80, 0x00FF_FFFF_FFFF, 0x87654321_0FEDCBA9])
def test_ari_cert_id_matches_the_acme_library_encoding(serial: int) -> None:
    from acme.client import _renewal_info_path_component

    pem = _self_signed(keys.generate_key("ec256"), ["a.example.com"], serial)
    expected = _renewal_info_path_component(x509.load_pem_x509_certificate(pem))
    assert keys.ari_cert_id(pem) == expected
    assert "=" not in expected


def test_ari_cert_id_of_a_top_bit_serial_keeps_the_leading_zero_byte() -> None:
    pem = _self_signed(keys.generate_key("ec256"), ["a.example.com"], 0x80)
    assert keys.ari_cert_id(pem).split(".")[1] == "AIA"  # 0x00 0x80


def test_ari_cert_id_without_aki_says_so() -> None:
    pem = _self_signed(keys.generate_key("ec256"), ["a.example.com"], 5, with_aki=False)
    with pytest.raises(OperationError, match="Authority Key Identifier"):
        keys.ari_cert_id(pem)
