"""The check of what a CA sent back (engine/orders.check_issued), from one reading of the order's key
(keys.order_csr) and one of the certificate: a certificate for another key, or without one of our names,
is refused before anything is stored; ours comes back with what it says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID

from zerossl_tui.core.errors import OperationError
from zerossl_tui.engine import keys
from zerossl_tui.engine.orders import Issued, check_issued

NAMES = ["a.example.test", "b.example.test"]


def _certificate(key_pem: bytes, names: list[str]) -> bytes:
    """A certificate for ``key_pem``'s public key and ``names``, issued by a throwaway CA key."""
    ca_key = serialization.load_pem_private_key(keys.generate_key("ec256"), None)
    public: Any = serialization.load_pem_private_key(key_pem, None).public_key()
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test Issuer")]))
            .public_key(public).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + timedelta(days=90))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
            .sign(ca_key, hashes.SHA256()))  # type: ignore[arg-type]
    return cert.public_bytes(serialization.Encoding.PEM)


def _issued(cert_pem: bytes) -> Issued:
    return Issued(cert_pem, cert_pem, b"", "https://ca.test/order/1")


@pytest.mark.parametrize("key_type", ["ec256", "rsa2048"])
def test_our_certificate_is_taken_with_what_it_says(key_type: str) -> None:
    key = keys.generate_key(key_type)
    csr, public_der = keys.order_csr(key, NAMES)
    assert sorted(n.value for n in csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value) \
        == NAMES
    info = check_issued(_issued(_certificate(key, NAMES)), public_der, NAMES)
    assert info.domains == tuple(NAMES) and info.issuer == "Test Issuer"


def test_a_certificate_for_another_key_is_refused() -> None:
    _, public_der = keys.order_csr(keys.generate_key("ec256"), NAMES)
    other = _certificate(keys.generate_key("ec256"), NAMES)
    with pytest.raises(OperationError, match="for a different key"):
        check_issued(_issued(other), public_der, NAMES)


def test_a_certificate_without_one_of_our_names_is_refused() -> None:
    key = keys.generate_key("ec256")
    _, public_der = keys.order_csr(key, NAMES)
    with pytest.raises(OperationError, match="without b.example.test"):
        check_issued(_issued(_certificate(key, NAMES[:1])), public_der, NAMES)
