"""The issue flow of an ACME session: order (or resume an earlier order), present every challenge,
answer once all are in place, wait for validation, finalize, wait for the certificate, download it.

``AcmeSession`` mixes this in; it provides the plumbing (``_post``, ``_wait``, ``_directory``, the
network and its key, ``progress``, ``cancel``, ``clock``, ``_with_account``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import josepy as jose
import requests
from acme import errors as acme_errors
from acme import messages

from ..core.clock import Clock
from ..core.errors import CaUnreachable, ZtError
from ..core.models import EventKind
from . import chains, keys
from . import orders as o
from .network import AcmeNetwork, host_of
from .orders import Issued
from .solvers import Solver

if TYPE_CHECKING:
    from cryptography import x509

OnOrder = Callable[[str], None]
RESUMABLE = ("pending", "ready", "processing", "valid")


def _no_order_note(url: str) -> None:
    """Nobody keeps the order URL."""


class IssueFlow:
    """The steps of issuing one certificate (see the module docstring)."""

    progress: Callable[[EventKind, str, float | None], None]
    cancel: threading.Event
    clock: Clock
    _net: AcmeNetwork
    _deadline: float | None

    def _post(self, url: str, body: Any) -> requests.Response:
        raise NotImplementedError

    def _wait(self, seconds: float, step: str, deadline: float, started: float) -> None:
        raise NotImplementedError

    def _with_account(self, step: Callable[[], Any]) -> Any:
        raise NotImplementedError

    @property
    def _directory(self) -> messages.Directory:
        raise NotImplementedError

    def _first_poll(self, what: str) -> float:
        """Seconds before the first poll for ``what`` ("validation", "certificate")."""
        return o.FIRST_POLL

    def _took(self, what: str, seconds: float) -> None:
        """``what`` was found done ``seconds`` after it was asked for."""

    def issue(
        self, domains: Sequence[str], key_pem: bytes, solver: Solver, *, deadline: float,
        profile: str = "", replaces: str = "", resume_url: str = "", on_order: OnOrder = _no_order_note,
        preferred_chain: str = "",
    ) -> Issued:
        """Order, validate (through the started ``solver``), finalize and download a certificate for
        ``domains`` with ``key_pem``. ``deadline`` is on ``clock.monotonic()``; ``replaces`` is the ARI
        CertID of the certificate this one replaces; ``profile`` is sent only when not empty.

        ``resume_url`` is an order an earlier attempt left (a killed process, a quit while the CA was
        processing): it is carried on when the CA still has it pending, ready, processing or valid and for
        the same names, so a slow CA never issues twice; ``key_pem`` must then be the key of that attempt.
        ``on_order(url)`` is told the URL of the order as soon as it exists, to keep it for a resume.
        ``preferred_chain`` is the common name of the topmost issuer of the chain to download when the CA
        offers alternates; without a match the default chain is kept (and the progress says so)."""
        csr, public_der = keys.order_csr(key_pem, domains)
        names = list(domains)
        self._deadline = deadline
        try:
            issued = self._with_account(
                lambda: self._issue(names, csr, solver, deadline, (profile, replaces), resume_url, on_order,
                                    preferred_chain))
        finally:
            self._deadline = None
        return replace(issued, info=o.check_issued(issued, public_der, names))

    def _issue(self, domains: list[str], csr: x509.CertificateSigningRequest, solver: Solver, deadline: float,
               asked: tuple[str, str], resume_url: str, on_order: OnOrder, preferred_chain: str = "") -> Issued:
        order_url, order = self._resumed(resume_url, domains) if resume_url else ("", None)
        if order is None:
            order_url, order = self._ordered(domains, *asked)
        on_order(order_url)  # a resumed order too: if this attempt dies, the next one resumes it again
        presented: list[o.Http01Challenge] = []
        try:
            self._present_all(order, solver, presented)
            if getattr(solver, "challenge_type", "") == "dns-01":  # dnspython and lexicon only when needed
                from .dns.solver import publish_pending

                publish_pending(solver, self.progress, self.cancel, deadline - self.clock.monotonic())
            for item in presented:  # answer only once every token is in place
                self._post(item.challenge.uri, item.response)
            self._await_authorizations(presented, deadline)
            order = self._finalize(order_url, order, csr, deadline)
        finally:
            for item in presented:
                _quietly(solver.cleanup, item.domain, item.token)
        fullchain, top = self._download(str(order.certificate), preferred_chain)
        leaf, chain = keys.split_fullchain(fullchain)
        return Issued(leaf + chain, leaf, chain, order_url, top)

    def _download(self, url: str, preferred: str) -> tuple[bytes, str]:
        """The certificate with the default chain, or the alternate whose topmost issuer is ``preferred``;
        and that issuer's common name."""
        response = self._post(url, None)
        default, top = response.content, chains.top_issuer(response.content)
        if not preferred or chains.matches(top, preferred):
            return default, top
        offered = [top]
        for alternate in chains.alternate_urls(response):
            pem = self._alternate(alternate)
            if not pem:
                continue
            offered.append(chains.top_issuer(pem))
            if chains.matches(offered[-1], preferred):
                self.progress(EventKind.CHAIN, f"using the alternate chain to {offered[-1]}", None)
                return pem, offered[-1]
        self.progress(EventKind.CHAIN, f"no chain leads to {preferred!r} (offered: {', '.join(offered)}): "
                                       "keeping the default chain", None)
        return default, top

    def _alternate(self, url: str) -> bytes:
        """An alternate chain; b"" when the CA refuses it (the certificate is issued: an optional chain must
        not fail the order)."""
        try:
            return self._post(url, None).content
        except (messages.Error, acme_errors.Error) as error:
            why = getattr(error, "detail", None) or str(error).splitlines()[0][:120]
            self.progress(EventKind.CHAIN, f"an alternate chain could not be downloaded ({why}): skipped", None)
            return b""

    def _ordered(self, domains: list[str], profile: str, replaces: str) -> tuple[str, messages.Order]:
        order_url, order, replaced = self._new_order(domains, profile, replaces)
        note = f" (replaces {replaced})" if replaced else ""
        self.progress(EventKind.ORDER_CREATED, f"order for {', '.join(domains)}{note}", None)
        return order_url, order

    def _resumed(self, url: str, domains: list[str]) -> tuple[str, messages.Order | None]:
        """The earlier order at ``url`` when it can be carried on, else (url, None) to order anew."""
        try:
            order = messages.Order.from_json(self._post(url, None).json())
        except (messages.Error, acme_errors.Error, ValueError, jose.DeserializationError) as error:
            why = getattr(error, "detail", None) or "the CA no longer has it"
            self.progress(EventKind.RETRY, f"the earlier order cannot be resumed ({why}): ordering anew", None)
            return url, None
        names = sorted(str(i.value) for i in order.identifiers)
        status = order.status.name if order.status is not None else "unknown"
        if status not in RESUMABLE or names != sorted(domains):
            self.progress(EventKind.RETRY, f"the earlier order is {status}: ordering anew", None)
            return url, None
        self.progress(EventKind.ORDER_CREATED, f"resuming the earlier order ({status}) for {', '.join(names)}",
                      None)
        return url, order

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
        interval, delay = o.FIRST_POLL, self._first_poll("validation")
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
        if pending:
            self._took("validation", self.clock.monotonic() - started)

    def _finalize(self, order_url: str, order: messages.Order, csr: x509.CertificateSigningRequest,
                  deadline: float) -> messages.Order:
        """Finalize with the CSR, then poll the order until the certificate is ready."""
        request = messages.CertificateRequest(csr=csr)
        finalized, first, interval, started = False, True, o.FIRST_POLL, self.clock.monotonic()
        wait_hint: float | None = None
        announced: list[float | None] = []
        sent_at = 0.0
        while True:
            if order.status == messages.STATUS_VALID and order.certificate:
                if sent_at:
                    self._took("certificate", self.clock.monotonic() - sent_at)
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
                    sent_at, interval = self.clock.monotonic(), self._first_poll("certificate")
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


def _quietly(func: Callable[..., object], *args: object) -> None:
    """Cleanup that must not hide the error that is already on its way out."""
    try:
        func(*args)
    except (OSError, ZtError):
        pass
