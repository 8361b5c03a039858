"""Which certificate does a TLS endpoint present? A handshake with SNI, and the leaf compared byte for byte.

No trust check is made on purpose: the question is "is this our current certificate", not "is it trusted"
(a private CA, or a certificate not yet in the client's bundle, must still compare equal).
"""

from __future__ import annotations

import socket
import ssl

from ..core.served import OK, STALE, UNREACHABLE, EndpointCheck
from .keys import load_cert, serial_hex, split_pem_certs


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """(host, port) of ``HOST:PORT`` or ``[v6]:PORT``."""
    host, _, port = endpoint.rpartition(":")
    return host.strip("[]"), int(port)


def sni_name(domains: tuple[str, ...]) -> str:
    """The server name to send: the first domain; for a wildcard, a name it covers."""
    first = domains[0] if domains else ""
    return "zt-verify." + first[2:] if first.startswith("*.") else first


def served_leaf(endpoint: str, server_name: str, timeout: float = 5.0) -> bytes:
    """The DER leaf certificate that ``endpoint`` presents for ``server_name``; OSError/ssl.SSLError when the
    handshake fails."""
    host, port = split_endpoint(endpoint)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # compared below with our own certificate instead
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=server_name or None) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the endpoint presented no certificate")
    return der


def check_endpoint(name: str, endpoint: str, domains: tuple[str, ...], current_pem: bytes | None,
                   timeout: float = 5.0) -> EndpointCheck:
    """Compare what ``endpoint`` serves with ``current_pem`` (the leaf, or a full chain starting with it)."""
    expected = _der(current_pem)
    expected_serial = serial_hex(load_cert(current_pem).serial_number) if current_pem else ""
    try:
        der = served_leaf(endpoint, sni_name(domains), timeout)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return EndpointCheck(name, endpoint, UNREACHABLE, expected_serial=expected_serial, error=_reason(exc))
    if der == expected:
        return EndpointCheck(name, endpoint, OK, expected_serial, expected_serial)
    return EndpointCheck(name, endpoint, STALE, _serial_of(der), expected_serial)


def _der(pem: bytes | None) -> bytes:
    if not pem:
        return b""
    return ssl.PEM_cert_to_DER_cert(split_pem_certs(pem)[0].decode("ascii"))


def _serial_of(der: bytes) -> str:
    from cryptography import x509

    try:
        return serial_hex(x509.load_der_x509_certificate(der).serial_number)
    except ValueError:
        return "(unreadable certificate)"


def _reason(exc: BaseException) -> str:
    """One line: the OS or TLS reason without Python's decorations."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    text = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
