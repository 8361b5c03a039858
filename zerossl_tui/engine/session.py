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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, TypeVar

import josepy as jose
import requests
from acme import client as acme_client
from acme import errors as acme_errors
from acme import messages

from ..core.clock import SYSTEM_CLOCK, Clock
from ..core.errors import Cancelled, CaUnreachable, DeadlineExceeded, ZtError
from ..core.models import DEFAULT_KEY_TYPE, EventKind, ProviderSpec
from . import keys
from . import orders as o
from .accounts import FETCH, AccountState, choose_eab, key_change_jws, registration_problem
from .dns.solver import publish_pending
from .eab import ZEROSSL_API, check_eab_hmac, fetch_zerossl_eab
from .network import MAX_PAUSE, REQUEST_TIMEOUT, AcmeNetwork, host_of, tls_verify, translate_error
from .orders import Issued, RenewalWindow
from .solvers import Solver

__all__ = ["AccountState", "AcmeSession", "Issued", "ProgressFn", "RenewalWindow", "choose_eab"]

ProgressFn = Callable[[EventKind, str, float | None], None]
T = TypeVar("T")


class AcmeSession:
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
    ) -> None:
        self.provider = provider
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

    def fetch_renewal_info(self, cert_pem: bytes) -> RenewalWindow | None:
        """The CA's ARI answer for the certificate; None when its directory has no ``renewalInfo``."""
        with self._translated():
            self._connect()
            base = self._directory.to_partial_json().get("renewalInfo")
            if not base:
                return None
            url = f"{str(base).rstrip('/')}/{keys.ari_cert_id(cert_pem)}"
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

    # --- issue ---------------------------------------------------------------------------------------

    def issue(
        self, domains: Sequence[str], key_pem: bytes, solver: Solver, *, deadline: float,
        profile: str = "", replaces: str = "",
    ) -> Issued:
        """Order, validate (http-01 through the started ``solver``), finalize and download a certificate
        for ``domains`` with ``key_pem``. ``deadline`` is on ``clock.monotonic()``; ``replaces`` is the
        ARI CertID of the certificate this one replaces; ``profile`` is sent only when not empty."""
        csr_pem = keys.make_csr(key_pem, domains)
        names = list(domains)
        self._deadline = deadline
        try:
            issued = self._with_account(lambda: self._issue(names, csr_pem, solver, deadline, profile, replaces))
        finally:
            self._deadline = None
        o.check_issued(issued, key_pem, names)
        return issued

    def _issue(self, domains: list[str], csr_pem: bytes, solver: Solver, deadline: float, profile: str,
               replaces: str) -> Issued:
        order_url, order, replaced = self._new_order(domains, profile, replaces)
        note = f" (replaces {replaced})" if replaced else ""
        self.progress(EventKind.ORDER_CREATED, f"order for {', '.join(domains)}{note}", None)
        presented: list[o.Http01Challenge] = []
        try:
            self._present_all(order, solver, presented)
            publish_pending(solver, self.progress, self.cancel, deadline - self.clock.monotonic())  # dns-01
            for item in presented:  # answer only once every token is in place
                self._post(item.challenge.uri, item.response)
            self._await_authorizations(presented, deadline)
            order = self._finalize(order_url, order, csr_pem, deadline)
            fullchain = self._post(str(order.certificate), None).content
        finally:
            for item in presented:
                _quietly(solver.cleanup, item.domain, item.token)
        leaf, chain = keys.split_fullchain(fullchain)
        return Issued(leaf + chain, leaf, chain, order_url)

    def _new_order(self, domains: list[str], profile: str, replaces: str) -> tuple[str, messages.Order, str]:
        """The new order's URL and body, and the ``replaces`` CertID the CA accepted ("" if none)."""
        url = self._directory["newOrder"]
        try:
            response = self._post(url, o.new_order(domains, profile, replaces))
        except messages.Error as error:
            if not replaces or not o.refuses_replaces(error):
                raise
            self.progress(EventKind.RETRY, f"the CA refused replaces ({error.detail}): ordering without it",
                          None)
            response = self._post(url, o.new_order(domains, profile))
            replaces = ""
        order_url = response.headers.get("Location", "")
        if not order_url:
            raise CaUnreachable(f"{host_of(url)} created an order without saying where it is (no Location)")
        return order_url, messages.Order.from_json(response.json()), replaces

    def _present_all(self, order: messages.Order, solver: Solver, presented: list[o.Http01Challenge]) -> None:
        """Present a token for every pending authorization, appending each to ``presented``."""
        assert self._net.key is not None
        for url in order.authorizations:
            authz = messages.Authorization.from_json(self._post(url, None).json())
            domain = str(authz.identifier.value)
            if authz.status == messages.STATUS_VALID:
                self.progress(EventKind.AUTHORIZATION_VALID, f"{domain} already validated", None)
                continue
            if authz.status != messages.STATUS_PENDING:
                raise o.authorization_problem(domain, authz)
            kind = getattr(solver, "challenge_type", "http-01")
            item = o.http01_challenge(url, authz, self._net.key, kind)
            solver.present(domain, item.token, item.key_authorization)
            presented.append(item)
            self.progress(EventKind.CHALLENGE_PRESENTED, f"{domain}: {kind} token ready", None)

    def _await_authorizations(self, pending: list[o.Http01Challenge], deadline: float) -> None:
        """Poll every pending authorization in turn until all are valid; an invalid one fails the order."""
        waiting = {item.authz_url: item.domain for item in pending}
        interval = delay = o.FIRST_POLL
        started = self.clock.monotonic()
        while waiting:
            step = "waiting for the CA to validate " + ", ".join(waiting.values())
            self._wait(delay, step, deadline, started)
            hints: list[float] = []
            for url, domain in list(waiting.items()):
                response = self._post(url, None)
                authz = messages.Authorization.from_json(response.json())
                if authz.status == messages.STATUS_VALID:
                    del waiting[url]
                    self.progress(EventKind.AUTHORIZATION_VALID, f"{domain} validated", None)
                elif authz.status not in (messages.STATUS_PENDING, messages.STATUS_PROCESSING):
                    raise o.authorization_problem(domain, authz)
                elif (hint := o.retry_after(response, self.clock.now())) is not None:
                    hints.append(hint)
            interval = min(interval * o.POLL_GROWTH, o.MAX_POLL)
            delay = min(hints) if hints else interval

    def _finalize(self, order_url: str, order: messages.Order, csr_pem: bytes, deadline: float
                  ) -> messages.Order:
        """Finalize with the CSR, then poll the order until the certificate is ready."""
        from cryptography import x509

        request = messages.CertificateRequest(csr=x509.load_pem_x509_csr(csr_pem))
        finalized, first, interval, started = False, True, o.FIRST_POLL, self.clock.monotonic()
        wait_hint: float | None = None
        announced: list[float | None] = []
        while True:
            if order.status == messages.STATUS_VALID and order.certificate:
                return order
            if order.status == messages.STATUS_INVALID:
                raise o.order_problem(order)
            # Right after validation the order may still say pending: finalize anyway (the CA answers
            # orderNotReady if it is not), which saves a round trip on a fast CA.
            if not finalized and (order.status == messages.STATUS_READY
                                  or (first and order.status == messages.STATUS_PENDING)):
                first = False
                finalized, order, wait_hint = self._try_finalize(order, request)
                if finalized:
                    continue
            elif order.status == messages.STATUS_PROCESSING and announced[-1:] != [wait_hint]:
                announced.append(wait_hint)
                self.progress(EventKind.PROCESSING, "the CA is issuing the certificate", wait_hint)
            status = order.status.name if order.status is not None else "unknown"
            self._wait(wait_hint or interval, f"waiting for the certificate (order still {status})", deadline,
                       started)
            interval = min(interval * o.POLL_GROWTH, o.MAX_POLL)
            response = self._post(order_url, None)
            order = messages.Order.from_json(response.json())
            wait_hint = o.retry_after(response, self.clock.now())

    def _try_finalize(self, order: messages.Order, request: messages.CertificateRequest
                      ) -> tuple[bool, messages.Order, float | None]:
        """POST the CSR; (False, order, Retry-After) when the CA says the order is not ready yet."""
        try:
            response = self._post(order.finalize, request)
        except messages.Error as error:
            if error.code != "orderNotReady":
                raise
            return False, order, getattr(error, "retry_after", None)
        self.progress(EventKind.FINALIZING, "CSR sent, waiting for the certificate", None)
        return True, messages.Order.from_json(response.json()), o.retry_after(response, self.clock.now())

    # --- plumbing ------------------------------------------------------------------------------------

    def _network(self, key_pem: bytes | None) -> AcmeNetwork:
        verify = tls_verify(self.provider.ca_bundle)
        return AcmeNetwork(key_pem, verify=verify, timeout=self.request_timeout, clock=self.clock,
                           pause=self._pause)

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
            directory = acme_client.ClientV2.get_directory(self.provider.directory, self._net)
            o.check_directory(directory, self.provider.directory)
            self._client = acme_client.ClientV2(directory, self._net)
        return self._client

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
        if remaining <= 0:
            waited = self.clock.monotonic() - started
            raise DeadlineExceeded(f"gave up {step} after {waited:.1f} s: the per-order deadline passed "
                                   "(renewal order_timeout)")
        if self.cancel.wait(min(seconds, remaining)):
            raise Cancelled(f"cancelled while {step}")


def _quietly(func: Callable[..., object], *args: object) -> None:
    """Cleanup that must not hide the error that is already on its way out."""
    try:
        func(*args)
    except (OSError, ZtError):
        pass
