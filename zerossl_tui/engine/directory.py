"""Ask a CA's ACME directory whether new accounts need External Account Binding (RFC 8555 section 7.1.1).

Used by the dashboard's EAB screen to say plainly when a provider needs no EAB at all; no account key, no
nonce, one GET.
"""

from __future__ import annotations

import requests

from ..core.errors import CaUnreachable
from ..core.models import ProviderSpec
from .network import host_of, tls_verify, translate_error

TIMEOUT = 10.0


def external_account_required(provider: ProviderSpec, timeout: float = TIMEOUT) -> bool:
    """``meta.externalAccountRequired`` of the provider's directory; CaUnreachable (one line) when the CA
    cannot be asked or does not answer with an ACME directory."""
    try:
        response = requests.get(provider.directory, verify=tls_verify(provider.ca_bundle), timeout=timeout)
        response.raise_for_status()
        body = response.json()
    except (requests.exceptions.RequestException, ValueError) as exc:
        raise translate_error(exc, provider.directory) from None
    if not isinstance(body, dict) or "newAccount" not in body:
        raise CaUnreachable(f"{host_of(provider.directory)} did not answer with an ACME directory: "
                            "check the directory URL")
    meta = body.get("meta")
    return bool(isinstance(meta, dict) and meta.get("externalAccountRequired"))
