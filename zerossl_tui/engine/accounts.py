"""ACME accounts: what identifies one, where its EAB credentials come from, and the key-change message.

Pure helpers for ``session.AcmeSession``; nothing here talks to the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import josepy as jose
from acme import jws, messages

from ..core.errors import AcmeProblem, EabError, EabRequired
from ..core.models import ProviderSpec
from .network import problem_from, signing_key

# Problem types a CA answers with when the EAB MAC or kid is wrong (Pebble: malformed; Boulder: unauthorized).
EAB_PROBLEMS = ("unauthorized", "malformed", "badPublicKey")
EAB_TYPE = "urn:ietf:params:acme:error:externalAccountRequired"
FETCH = "fetch"


@dataclass(frozen=True)
class AccountState:
    """An ACME account: key and URL; ``eab_*`` are set when fetched from ZeroSSL, for the caller to keep."""

    key_pem: bytes
    url: str
    eab_kid: str = ""
    eab_hmac_key: str = ""

    def __repr__(self) -> str:
        return f"AccountState(url={self.url!r}, eab_kid={self.eab_kid!r})"


def choose_eab(provider: ProviderSpec, account: AccountState | None, required: bool
               ) -> tuple[str, str, bool] | str | None:
    """Where EAB credentials come from: (kid, hmac, fetched) when known, ``FETCH`` for ZeroSSL's API, None
    when the CA needs none. EabRequired when the CA needs them and there is no way to get them."""
    if provider.has_eab:
        return provider.eab_kid, provider.eab_hmac_key, False
    if account is not None and account.eab_kid and account.eab_hmac_key:
        return account.eab_kid, account.eab_hmac_key, True
    if not required:
        return None
    if provider.is_zerossl and (provider.email or provider.api_key):
        return FETCH
    raise eab_required(provider, "")


def eab_required(provider: ProviderSpec, detail: str) -> EabRequired:
    """EabRequired saying how to configure the credentials."""
    how = (f"run `zerossl-tui provider add {provider.name} --eab-kid K --eab-hmac-key H` with the values "
           "from the CA's dashboard")
    if provider.is_zerossl:
        how = f"set an email for provider {provider.name} (`--email E`) to fetch them, or " + how
    text = f"{provider.name} requires External Account Binding: {how}"
    if detail:
        text = f"{detail.rstrip('.')}. {text}"
    return EabRequired(EAB_TYPE, text)


def registration_problem(provider: ProviderSpec, error: messages.Error, kid: str) -> AcmeProblem | EabError:
    """The error for a refused newAccount: EAB trouble said in EAB words, anything else as the CA put it."""
    problem = problem_from(error)
    if isinstance(problem, EabRequired):
        return eab_required(provider, problem.detail)
    if kid and problem.short_type in EAB_PROBLEMS:
        return EabError(
            f"{provider.name} refused the EAB credentials (kid {kid}): {problem.detail or problem}; "
            f"check them with `zerossl-tui provider add {provider.name} --eab-kid K --eab-hmac-key H`"
        )
    return problem


def key_change_jws(account: AccountState, new_key_pem: bytes, url: str) -> jose.JWS:
    """The inner JWS of an account key change (RFC 8555 section 7.3.5): signed by the new key with its
    ``jwk`` and the keyChange ``url`` (no nonce, no kid), naming the account and its old public key."""
    old_jwk = jose.JWK.load(account.key_pem)
    new_jwk, new_alg = signing_key(new_key_pem)
    payload = json.dumps({"account": account.url, "oldKey": old_jwk.public_key().to_partial_json()})
    return jws.JWS.sign(payload.encode(), key=new_jwk, alg=new_alg, nonce=None, url=url)
