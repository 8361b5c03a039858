"""What a provider needs in the way of EAB credentials, and how the EAB screen says it: pure functions."""

from __future__ import annotations

from urllib.parse import urlsplit

from ...core.models import ProviderSpec

ZEROSSL = "zerossl"  # needs EAB; ZeroSSL can also give them for an email or API key
REQUIRED = "required"  # needs EAB from the CA's dashboard
NONE = "none"  # needs no EAB at all
ASK = "ask"  # not known here: the CA's directory says (meta.externalAccountRequired)

_NO_EAB = ("letsencrypt.org",)
_EAB = ("pki.goog", "ssl.com")


def _host(spec: ProviderSpec) -> str:
    try:
        return (urlsplit(spec.directory).hostname or "").lower()
    except ValueError:
        return ""


def _under(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def eab_need(spec: ProviderSpec) -> str:
    """ZEROSSL, REQUIRED or NONE for the CAs known here, ASK for any other (the sandbox, a private CA)."""
    host = _host(spec)
    if spec.is_zerossl:
        return ZEROSSL
    if _under(host, _NO_EAB):
        return NONE
    if _under(host, _EAB):
        return REQUIRED
    return ASK


def need_sentence(spec: ProviderSpec, need: str, note: str = "") -> str:
    """One plain sentence on what ``spec`` needs; ``note`` says why asking its directory failed."""
    who = "Let's Encrypt" if _under(_host(spec), _NO_EAB) else spec.name
    if need == ZEROSSL:
        return ("ZeroSSL requires EAB credentials: paste the key ID and HMAC key from the ZeroSSL dashboard, "
                "or give your email or API key and ZeroSSL gives them.")
    if need == REQUIRED:
        return f"{who} requires EAB credentials: paste the key ID and HMAC key from the CA's dashboard."
    if need == NONE:
        return f"{who} needs no EAB credentials: there is nothing to set here."
    if note:
        return (f"Could not ask {who} whether it needs EAB credentials ({note}). Fill in a key ID and HMAC key "
                "only if the CA gave you some.")
    return f"Asking {_host(spec) or who} whether it needs EAB credentials…"
