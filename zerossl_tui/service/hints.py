"""What to check when the CA could not validate a domain: a failed validation names the domain and the CA's
reason, and this adds, in the same line, where the CA looked for the proof, from the certificate's settings
(the built-in responder's port, the web root, the TXT record)."""

from __future__ import annotations

from ..core.errors import AcmeProblem, ZtError
from ..core.models import CertificateSpec

# The CA's reasons (RFC 8555 problem types) that mean it could not see the proof where it looked.
NOT_SEEN = ("connection", "unauthorized", "incorrectResponse", "dns", "tls")


def with_hint(spec: CertificateSpec, exc: ZtError) -> ZtError:
    """``exc`` with what to check appended when it is the CA's refusal of a domain's validation; else
    ``exc`` itself."""
    if not isinstance(exc, AcmeProblem) or not exc.validating or exc.short_type not in NOT_SEEN:
        return exc
    domain = exc.validating
    hinted = AcmeProblem(exc.type, f"{exc.detail.rstrip('. ')}; {where_to_look(spec, domain)}",
                         exc.subproblems, exc.status)
    hinted.validating = domain
    return hinted


def where_to_look(spec: CertificateSpec, domain: str) -> str:
    """Where the CA looked for ``domain``'s proof, as something to check."""
    base = domain.removeprefix("*.")
    if spec.challenge == "dns-01":
        return (f"check that the TXT record _acme-challenge.{base} is published on {base}'s authoritative "
                "DNS servers (the CA asks them, not your resolver)")
    path = f"http://{domain}/.well-known/acme-challenge/"
    if spec.webroot:
        return (f"check that {domain} points at this host and that its web server on port 80 serves "
                f"{spec.webroot}/.well-known/acme-challenge/ at {path}")
    if spec.http_port == 80:
        return f"check that {domain} points at this host and that port 80 is open to the CA ({path})"
    return (f"check that {domain} points at this host and that port 80 is forwarded to the built-in "
            f"responder on port {spec.http_port} ({path})")
