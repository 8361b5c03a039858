"""The order flow (porcelain) over ``acme.client.ClientV2`` (plumbing): account, order, challenges,
finalize, download, revoke, key rollover, ARI.

Every wait is ``cancel.wait(...)``, so a cancel cuts it short (``Cancelled``), and each wait checks the
order's deadline (``DeadlineExceeded``). Polling starts at 20 ms and grows x1.5 to 1 s, or follows the
CA's Retry-After: an instant CA issues in a few tens of milliseconds, a slow one is not hammered.
Progress goes to the ``progress`` callable as (kind, message, retry_after seconds). Library and network
errors leave as ``core.errors`` types (``network.translate_error``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import josepy as jose
import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.errors import Cancelled, DeadlineExceeded
from ..core.models import DEFAULT_KEY_TYPE, EventKind, ProviderSpec
from . import keys
from . import orders as o
from .accounts import FETCH, AccountState, choose_eab, key_change_jws, registration_problem
from .eab import ZEROSSL_API, check_eab_hmac, fetch_zerossl_eab
from .issue import IssueFlow
from .network import MAX_PAUSE, REQUEST_TIMEOUT, AcmeNetwork, host_of, tls_verify, translate_error
from .orders import Issued, RenewalWindow
from .pool import SharedCA, SharedNetwork

__all__ = ["AccountState", "AcmeSession", "Issued", "ProgressFn", "RenewalWindow", "choose_eab"]

ProgressFn = Callable[[EventKind, str, float | None], None]
T = TypeVar("T")


class AcmeSession(IssueFlow):
    """One CA, one account, one thread at a time: the steps of ACME for the service layer.

    ``account`` is trusted as given; when the CA answers ``accountDoesNotExist`` the session registers
    again (same key) and carries on, so read ``session.account`` afterwards and save it when it changed.
    """

    def __init__(
        self,
        provider: ProviderSpec,
        account: AccountState | None,
        *,
        progress: ProgressFn,
        cancel: threading.Event,
        clock: Clock = SYSTEM_CLOCK,
        zerossl_api: str = ZEROSSL_API,
        request_timeout: float = REQUEST_TIMEOUT,
        shared: SharedCA | None = None,
    ) -> None:
        self.provider = provider
        self.shared = shared  # connections, directory and nonces shared with the other orders of a run
        self.account = account
        self.progress = progress
        self.cancel = cancel
        self.clock = clock
        self.zerossl_api = zerossl_api
        self.request_timeout = request_timeout
        self._net = self._network(None)
        self._client: acme_client.ClientV2 | None = None
        self._deadline: float | None = None  # of the order being issued, on clock.monotonic()

    @property
    def nonce_retries(self) -> int:
        """How many requests were sent again after a ``badNonce`` answer."""
        return self._net.nonce_retries

    # --- account -------------------------------------------------------------------------------------

    def ensure_account(self) -> AccountState:
        """The account to sign with: the stored one (trusted as is), else a newly registered one (ec256
        key, contact email, terms agreed, EAB when configured or required)."""
        with self._translated():
            self._connect()
            if self.account is not None and self.account.url:
                self._use_account(self.account)
                return self.account
            key_pem = self.account.key_pem if self.account else keys.generate_key(DEFAULT_KEY_TYPE)
            return self._register(key_pem)

    def rollover(self) -> AccountState:
        """Replace the account key (RFC 8555 section 7.3.5) with a new one of the same type."""
        def step() -> AccountState:
            assert self.account is not None
            new_key = keys.generate_key(keys.key_type_of(self.account.key_pem))
            url = self._directory["keyChange"]
            self._post(url, key_change_jws(self.account, new_key, url))
            self._use_account(replace(self.account, key_pem=new_key))
            self.progress(EventKind.ACCOUNT, "account key replaced", None)
            return self.account
        return self._with_account(step)

    def deactivate(self) -> None:
        """Deactivate the account for good (the CA refuses it from then on)."""
        def step() -> None:
            assert self.account is not None
            self._post(self.account.url, messages.UpdateRegistration.from_json({"status": "deactivated"}))
            self.progress(EventKind.ACCOUNT, "account deactivated", None)
        self._with_account(step)

    def _register(self, key_pem: bytes) -> AccountState:
        self._net.use_key(key_pem)
        self._net.account = None
        kid, hmac_key, fetched = self._eab_credentials()
        binding = None
        if kid:
            assert self._net.key is not None
            binding = messages.ExternalAccountBinding.from_data(
                self._net.key.public_key(), kid, hmac_key, self._directory
            )
        registration = messages.NewRegistration.from_data(
            email=self.provider.email or None, terms_of_service_agreed=True, external_account_binding=binding
        )
        try:
            url = self._connect().new_account(registration).uri
        except acme_errors.ConflictError as conflict:  # the key already has an account: use it
            url = conflict.location
        except messages.Error as error:
            raise registration_problem(self.provider, error, kid) from None
        state = AccountState(key_pem, url, kid if fetched else "", hmac_key if fetched else "")
        self._use_account(state)
        self.progress(EventKind.ACCOUNT, f"registered an account with {self.provider.name}", None)
        return state

    def _eab_credentials(self) -> tuple[str, str, bool]:
        """(kid, hmac, fetched from ZeroSSL), or ("", "", False) when the CA needs none."""
        plan = choose_eab(self.provider, self.account, bool(self._connect().external_account_required()))
        if plan == FETCH:
            self._check_cancel("fetching EAB credentials from ZeroSSL")
            kid, hmac_key = fetch_zerossl_eab(self.provider.email, self.provider.api_key,
                                              base_url=self.zerossl_api)
            return kid, hmac_key, True
        if isinstance(plan, tuple):
            return plan[0], check_eab_hmac(plan[1]), plan[2]
        return "", "", False

    def _use_account(self, account: AccountState) -> None:
        self._net.use_key(account.key_pem)
        self._net.account = messages.RegistrationResource(uri=account.url, body=messages.Registration())
        self.account = account

    def _with_account(self, step: Callable[[], T]) -> T:
        """Run ``step`` with an account; when the CA has forgotten it, register again once and rerun."""
        with self._translated():
            self.ensure_account()
            try:
                return step()
            except messages.Error as error:
                if error.code != "accountDoesNotExist":
                    raise
            assert self.account is not None
            self.progress(EventKind.RETRY, f"{self.provider.name} no longer knows the account: registering "
                          "again", None)
            self._register(self.account.key_pem)
            return step()

    # --- revoke and ARI ------------------------------------------------------------------------------

    def revoke(self, cert_pem: bytes, reason: int, cert_key_pem: bytes | None = None) -> None:
        """Revoke the certificate, signed by the account, or by the certificate's own key when given
        (which works whatever account ordered it)."""
        body = messages.Revocation(certificate=keys.load_cert(cert_pem), reason=reason)
        if cert_key_pem is None:
            self._with_account(lambda: self._post(self._directory["revokeCert"], body))
        else:
            with self._translated():
                self._connect()
                self._check_cancel("revoking")
                net = self._network(cert_key_pem)
                net.post(self._directory["revokeCert"], body, new_nonce_url=self._directory["newNonce"])
        self.progress(EventKind.REVOKED, f"revoked serial {keys.parse_cert(cert_pem).serial}", None)

    def fetch_renewal_info(self, cert: bytes | str) -> RenewalWindow | None:
        """The CA's ARI answer for the certificate (its PEM, or its ARI CertID when already known: no parse);
        None when the CA's directory has no ``renewalInfo``."""
        with self._translated():
            self._connect()
            base = self._directory.to_partial_json().get("renewalInfo")
            if not base:
                return None
            cert_id = cert if isinstance(cert, str) else keys.ari_cert_id(cert)
            url = f"{str(base).rstrip('/')}/{cert_id}"
            response = self._net.get(url, content_type=self._net.JSON_CONTENT_TYPE)
            return o.renewal_window(response, self.clock.now())

    def has_ari(self) -> bool:
        """True when the CA's directory offers ACME Renewal Information (RFC 9773)."""
        with self._translated():
            self._connect()
            return bool(self._directory.to_partial_json().get("renewalInfo"))

    def profiles(self) -> dict[str, str]:
        """The order profiles the CA's directory offers (name -> description); empty when none."""
        with self._translated():
            meta = self._connect().directory.meta
            return dict(getattr(meta, "profiles", None) or {})

    # --- plumbing ------------------------------------------------------------------------------------

    def _network(self, key_pem: bytes | None) -> AcmeNetwork:
        options: dict[str, Any] = {"verify": tls_verify(self.provider.ca_bundle), "timeout": self.request_timeout,
                                   "clock": self.clock, "pause": self._pause, "remaining": self._time_left}
        if self.shared is not None:
            return SharedNetwork(key_pem, self.shared, **options)
        return AcmeNetwork(key_pem, **options)

    def _first_poll(self, what: str) -> float:
        """From the other orders of the run at this CA, when there are (see ``pool.Pace``)."""
        if self.shared is None:
            return o.FIRST_POLL
        return self.shared.pace.first_poll(what, o.FIRST_POLL, o.MAX_POLL)

    def _took(self, what: str, seconds: float) -> None:
        if self.shared is not None:
            self.shared.pace.took(what, seconds)

    def _time_left(self) -> float | None:
        """Seconds until the deadline of the order being issued (None outside an order)."""
        return None if self._deadline is None else self._deadline - self.clock.monotonic()

    def _pause(self, seconds: float, why: str) -> bool:
        """Wait before the network sends a request again (busy CA, broken connection), journaling why.
        False (give up on the request) when the wait would end past the order's deadline, or, outside an
        order, when it is longer than MAX_PAUSE; Cancelled on cancel."""
        self._check_cancel(why)
        limit = MAX_PAUSE if self._deadline is None else self._deadline - self.clock.monotonic()
        if seconds > limit:
            return False
        self.progress(EventKind.RETRY, why, seconds)
        if self.cancel.wait(seconds):
            raise Cancelled(f"cancelled while waiting to talk to {host_of(self.provider.directory)} again")
        return True

    def _connect(self) -> acme_client.ClientV2:
        """The ACME client, loading the directory once."""
        if self._client is None:
            self._check_cancel("loading the CA directory")
            load = self._load_directory
            directory = load() if self.shared is None else self.shared.directory(load)
            self._client = acme_client.ClientV2(directory, self._net)
        return self._client

    def _load_directory(self) -> messages.Directory:
        directory = acme_client.ClientV2.get_directory(self.provider.directory, self._net)
        o.check_directory(directory, self.provider.directory)
        return directory

    @property
    def _directory(self) -> messages.Directory:
        return self._connect().directory

    def _post(self, url: str, body: Any) -> requests.Response:
        """A signed POST (POST-as-GET when ``body`` is None), after checking for a cancel."""
        self._check_cancel("talking to the CA")
        return self._net.post(url, body, new_nonce_url=self._directory["newNonce"])

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except (messages.Error, acme_errors.Error, requests.exceptions.RequestException,
                jose.DeserializationError) as exc:
            raise translate_error(exc, self.provider.directory, reached=self._client is not None) from None

    def _check_cancel(self, step: str) -> None:
        if self.cancel.is_set():
            raise Cancelled(f"cancelled while {step}")

    def _wait(self, seconds: float, step: str, deadline: float, started: float) -> None:
        """Sleep ``seconds``, cut short by cancel (Cancelled); DeadlineExceeded once the deadline passed."""
        self._check_cancel(step)
        remaining = deadline - self.clock.monotonic()
        if remaining > 0 and self.cancel.wait(min(seconds, remaining)):
            raise Cancelled(f"cancelled while {step}")
        if remaining <= seconds:  # the deadline has come: say what we were waiting for
            waited = self.clock.monotonic() - started
            raise DeadlineExceeded(f"gave up {step} after {waited:.1f} s: the per-order deadline passed "
                                   "(renewal order_timeout)")
