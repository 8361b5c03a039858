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
    server_name = sni_name(domains)
    try:
        der = served_leaf(endpoint, server_name, timeout)
    except (OSError, ssl.SSLError, ValueError) as exc:
        return EndpointCheck(name, endpoint, UNREACHABLE, expected_serial=expected_serial,
                             error=_reason(exc, server_name))
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


# OpenSSL's reasons that a person cannot act on as they stand, said in words that point at the fix.
_TLS_REASONS = {
    "WRONG_VERSION_NUMBER": "does not speak TLS on this port (a plain HTTP port, or another protocol?)",
    "HTTP_REQUEST": "does not speak TLS on this port (a plain HTTP port?)",
    "RECORD_LAYER_FAILURE": "does not speak TLS on this port",
    "TLSV1_UNRECOGNIZED_NAME": "has no site for {name} (it refused that server name, SNI): check the web "
                               "server's names",
    "TLSV1_ALERT_UNRECOGNIZED_NAME": "has no site for {name} (it refused that server name, SNI): check the "
                                     "web server's names",
    "UNEXPECTED_EOF_WHILE_READING": "closed the connection during the TLS handshake",
}


def _reason(exc: BaseException, server_name: str = "") -> str:
    """One line: the OS or TLS reason without Python's decorations, in words for the TLS failures whose
    OpenSSL name alone does not say what to fix."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ssl.SSLEOFError):
        return _TLS_REASONS["UNEXPECTED_EOF_WHILE_READING"]
    if isinstance(exc, ssl.SSLError) and getattr(exc, "reason", None):
        known = _TLS_REASONS.get(str(exc.reason))
        return known.format(name=server_name or "(no name)") if known else \
            f"TLS handshake failed: {str(exc.reason).lower().replace('_', ' ')}"
    text = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())
