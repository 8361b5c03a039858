"""Private keys, CSRs and certificates: generate, build, read back.

Everything takes and returns PEM bytes, so callers never hold cryptography objects. ``cryptography`` is
imported inside the functions: a process that never touches a key does not pay for it at start-up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

from ..core.domains import normalize_ip
from ..core.errors import OperationError
from ..core.models import KEY_TYPES, CertInfo

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL)
_EC_CURVES = {"ec256": "SECP256R1", "ec384": "SECP384R1"}
_CURVE_TYPES = {"secp256r1": "ec256", "secp384r1": "ec384"}


def generate_key(key_type: str) -> bytes:
    """A new private key of ``key_type`` (ec256, ec384, rsa2048, rsa3072, rsa4096), unencrypted PKCS#8 PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key: PrivateKeyTypes
    if key_type in _EC_CURVES:
        key = ec.generate_private_key(getattr(ec, _EC_CURVES[key_type])())
    elif key_type in KEY_TYPES and key_type.startswith("rsa"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[3:]))
    else:
        raise OperationError(f"unknown key type {key_type!r}: use one of {', '.join(KEY_TYPES)}")
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_key(key_pem: bytes) -> PrivateKeyTypes:
    """The private key in ``key_pem``; OperationError when it is not an unencrypted PEM private key."""
    from cryptography.hazmat.primitives import serialization

    try:
        return serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError) as exc:
        raise OperationError(f"not a usable PEM private key ({_first_line(exc)})") from None


def key_type_of(key_pem: bytes) -> str:
    """``ec256``, ``ec384`` or ``rsaNNNN`` for the key in ``key_pem``; OperationError for anything else."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    key = load_key(key_pem)
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in _CURVE_TYPES:
        return _CURVE_TYPES[key.curve.name]
    if isinstance(key, rsa.RSAPrivateKey) and f"rsa{key.key_size}" in KEY_TYPES:
        return f"rsa{key.key_size}"
    raise OperationError(f"unsupported private key ({type(key).__name__}): use one of {', '.join(KEY_TYPES)}")


def make_csr(key_pem: bytes, domains: Sequence[str]) -> bytes:
    """A PEM CSR for ``domains`` (all in the SAN, IP addresses as IP SANs; the first also as CN when it
    is a domain name that fits), signed by the key."""
    from cryptography.hazmat.primitives import serialization

    return _csr(load_key(key_pem), domains).public_bytes(serialization.Encoding.PEM)


def order_csr(key_pem: bytes, domains: Sequence[str]) -> tuple[x509.CertificateSigningRequest, bytes]:
    """An order's CSR (as ``make_csr``) and the key's public half (DER SubjectPublicKeyInfo, for
    ``issued_info``), from one reading of the key."""
    from cryptography.hazmat.primitives import serialization

    key = load_key(key_pem)
    spki = key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return _csr(key, domains), spki


def _csr(key: PrivateKeyTypes, domains: Sequence[str]) -> x509.CertificateSigningRequest:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    if not domains:
        raise OperationError("a certificate request needs at least one domain name")
    # RFC 5280 caps the CN at 64 characters; the SAN alone is what CAs use anyway.
    # An IP address stays out of the CN (CAs such as Let's Encrypt put IPs only in the SAN).
    first = domains[0]
    fits = len(first) <= 64 and not normalize_ip(first)
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, first)] if fits else []
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(subject))
        .add_extension(x509.SubjectAlternativeName([_general_name(d) for d in domains]), critical=False)
    )
    return builder.sign(key, hashes.SHA256())  # type: ignore[arg-type]


def _general_name(name: str) -> x509.GeneralName:
    """A SAN entry: an IP address (RFC 8738) or a DNS name."""
    import ipaddress

    from cryptography import x509

    ip = normalize_ip(name)
    return x509.IPAddress(ipaddress.ip_address(ip)) if ip else x509.DNSName(name)


def split_pem_certs(pem: bytes) -> list[bytes]:
    """Each certificate block of ``pem``, in order, each ending with a newline."""
    return [block + b"\n" for block in _PEM_CERT.findall(pem.replace(b"\r\n", b"\n"))]


def split_fullchain(pem: bytes) -> tuple[bytes, bytes]:
    """(leaf, chain) of a full-chain PEM; the chain is empty when the CA sent the leaf alone."""
    blocks = split_pem_certs(pem)
    if not blocks:
        raise OperationError("the certificate data holds no PEM certificate")
    return blocks[0], b"".join(blocks[1:])


def load_cert(pem: bytes) -> x509.Certificate:
    """The first certificate of ``pem``; OperationError when there is none or it cannot be read."""
    from cryptography import x509

    blocks = split_pem_certs(pem)
    if not blocks:
        raise OperationError("not a PEM certificate (no BEGIN CERTIFICATE block)")
    try:
        return x509.load_pem_x509_certificate(blocks[0])
    except ValueError as exc:
        raise OperationError(f"unreadable PEM certificate ({_first_line(exc)})") from None


def serial_hex(serial: int) -> str:
    """A serial number as Pebble's management API and ``openssl x509 -serial`` name it, in lowercase hex
    without leading zeros (Pebble's ``/cert-status-by-serial/`` expects this form, ``%x``)."""
    return format(serial, "x")


def parse_cert(pem: bytes) -> CertInfo:
    """Serial, validity (UTC), names (DNS, then IP addresses) and issuer CN of the first certificate in
    ``pem``."""
    return _info(load_cert(pem))


def issued_info(cert_pem: bytes, public_der: bytes) -> CertInfo | None:
    """``parse_cert`` of a certificate that carries the public key ``public_der`` (DER SubjectPublicKeyInfo,
    from ``order_csr``); None when it carries another key. One reading of the certificate for both."""
    from cryptography.hazmat.primitives import serialization

    cert = load_cert(cert_pem)
    der = cert.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    return _info(cert) if der == public_der else None


def issuer_of(pem: bytes) -> str:
    """The issuer's common name (else its RFC 4514 form) of the first certificate in ``pem``: what
    ``parse_cert(pem).issuer`` says, without reading the rest."""
    cert = load_cert(pem)
    return _common_name(cert.issuer) or cert.issuer.rfc4514_string()


def _info(cert: x509.Certificate) -> CertInfo:
    return CertInfo(
        serial=serial_hex(cert.serial_number),
        not_before=cert.not_valid_before_utc.astimezone(UTC),
        not_after=cert.not_valid_after_utc.astimezone(UTC),
        domains=_san_names(cert),
        issuer=_common_name(cert.issuer) or cert.issuer.rfc4514_string(),
    )


def _san_names(cert: x509.Certificate) -> tuple[str, ...]:
    from cryptography import x509

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        cn = _common_name(cert.subject)
        return (cn,) if cn else ()
    ips = tuple(str(ip) for ip in san.get_values_for_type(x509.IPAddress))
    return tuple(san.get_values_for_type(x509.DNSName)) + ips


def _common_name(name: x509.Name) -> str:
    from cryptography.x509.oid import NameOID

    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def key_matches_cert(key_pem: bytes, cert_pem: bytes) -> bool:
    """True when the certificate (first in ``cert_pem``) carries the public half of the private key."""
    from cryptography.hazmat.primitives import serialization

    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    cert_public = load_cert(cert_pem).public_key().public_bytes(der, spki)
    return bool(load_key(key_pem).public_key().public_bytes(der, spki) == cert_public)


def ari_cert_id(cert_pem: bytes) -> str:
    """The ARI CertID (RFC 9773 section 4.1): base64url(AKI keyIdentifier) '.' base64url(DER serial), no
    padding; the serial keeps the leading zero byte DER needs when the top bit is set."""
    from cryptography import x509

    from .transport import b64url

    cert = load_cert(cert_pem)
    try:
        aki: Any = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        raise OperationError("the certificate has no Authority Key Identifier: ARI cannot name it") from None
    if not aki.key_identifier:
        raise OperationError("the certificate's Authority Key Identifier has no key identifier")
    serial = cert.serial_number
    serial_der = serial.to_bytes((serial.bit_length() + 8) // 8, "big")
    return f"{b64url(aki.key_identifier)}.{b64url(serial_der)}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:120] if text else type(exc).__name__
