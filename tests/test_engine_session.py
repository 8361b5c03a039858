"""The order flow against a real Pebble CA: issue, solvers, revoke, rollover, restarts, EAB, ARI, cancel."""

from __future__ import annotations

import base64
import functools
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from helpers import finishes, started_pebble

from zerossl_tui.core.errors import (
    AcmeProblem,
    Cancelled,
    CaUnreachable,
    DeadlineExceeded,
    EabError,
    EabRequired,
)
from zerossl_tui.core.models import KEY_TYPES, EventKind, ProviderSpec
from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer, free_port
from zerossl_tui.engine import keys
from zerossl_tui.engine.session import AccountState, AcmeSession, Issued
from zerossl_tui.engine.solvers import Http01Responder, Solver, WebrootSolver

pytestmark = pytest.mark.pebble
EAB_KEY = base64.urlsafe_b64encode(b"0123456789abcdef0123456789abcdef").rstrip(b"=").decode()


def _start(tmp_path_factory: pytest.TempPathFactory, options: PebbleOptions) -> PebbleServer:
    return started_pebble(tmp_path_factory.mktemp("pebble"), options)


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """Pebble rejecting 20% of good nonces, never reusing authorizations (so every order validates)."""
    server = _start(tmp_path_factory, PebbleOptions(nonce_reject=20, authz_reuse=0,
                                                    blocklist=["blocked.example.test"]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def old_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    """Pebble 2.4 (no ARI) that always reuses valid authorizations."""
    server = _start(tmp_path_factory, PebbleOptions(authz_reuse=100, prefer_ari=False))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def eab_pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    server = _start(tmp_path_factory, PebbleOptions(eab_keys={"kid-1": EAB_KEY}))
    yield server
    server.stop()


@dataclass
class Run:
    """A session plus what it reported."""

    session: AcmeSession
    cancel: threading.Event
    events: list[tuple[EventKind, str, float | None]] = field(default_factory=list)

    def kinds(self) -> list[EventKind]:
        return [kind for kind, _, _ in self.events]

    def issue(self, names: list[str], solver: Solver, key_type: str = "ec256", timeout: float = 20,
              **kwargs: str) -> tuple[Issued, bytes]:
        key = keys.generate_key(key_type)
        return self.session.issue(names, key, solver, deadline=time.monotonic() + timeout, **kwargs), key


def _provider(server: PebbleServer, **extra: str) -> ProviderSpec:
    return ProviderSpec(name="pebble", directory=server.directory, email="ops@example.test",
                        ca_bundle=str(server.ca_bundle), **extra)


def _run(provider: ProviderSpec, account: AccountState | None = None) -> Run:
    cancel = threading.Event()
    run = Run(AcmeSession(provider, account, progress=lambda *e: None, cancel=cancel), cancel)
    run.session.progress = lambda kind, message, retry: run.events.append((kind, message, retry))
    return run


@pytest.fixture
def responder(pebble: PebbleServer) -> Iterator[Http01Responder]:
    with Http01Responder(pebble.http_port, "127.0.0.1") as solver:
        yield solver


class RecordingSolver:
    """Wraps a solver and remembers the tokens presented and cleaned up."""

    def __init__(self, inner: Solver) -> None:
        self.inner, self.presented, self.cleaned = inner, [], []  # type: ignore[var-annotated]

    def start(self) -> None:
        self.inner.start()

    def stop(self) -> None:
        self.inner.stop()

    def present(self, domain: str, token: str, key_authorization: str) -> None:
        self.presented.append(token)
        self.inner.present(domain, token, key_authorization)

    def cleanup(self, domain: str, token: str) -> None:
        self.cleaned.append(token)
        self.inner.cleanup(domain, token)


def test_issue_for_two_names_with_the_builtin_responder(pebble: PebbleServer,
                                                        responder: Http01Responder) -> None:
    run = _run(_provider(pebble))
    issued, key = run.issue(["a.example.test", "b.example.test"], responder)
    info = keys.parse_cert(issued.cert_pem)
    assert set(info.domains) == {"a.example.test", "b.example.test"}
    assert keys.key_matches_cert(key, issued.cert_pem)
    assert issued.chain_pem and issued.fullchain_pem == issued.cert_pem + issued.chain_pem
    assert pebble.cert_status(info.serial) == "Valid"
    kinds = run.kinds()
    assert kinds[0] == EventKind.ACCOUNT and EventKind.ORDER_CREATED in kinds
    assert kinds.count(EventKind.CHALLENGE_PRESENTED) == 2 and kinds.count(EventKind.AUTHORIZATION_VALID) == 2
    assert kinds.index(EventKind.AUTHORIZATION_VALID) < kinds.index(EventKind.FINALIZING)
    assert run.session.account is not None and run.session.account.url.startswith("https://localhost")


def test_one_account_issues_order_after_order_despite_bad_nonces(pebble: PebbleServer,
                                                                  responder: Http01Responder) -> None:
    """How fast that goes is measured in bench/ (bench_issue.py), not asserted here."""
    run = _run(_provider(pebble))
    run.session.ensure_account()
    key = keys.generate_key("ec256")
    for i in range(5):
        issued = run.session.issue([f"fast{i}.example.test"], key, responder, deadline=time.monotonic() + 60)
        assert keys.parse_cert(issued.cert_pem).domains == (f"fast{i}.example.test",)
    assert run.session.nonce_retries > 0  # 20% of nonces were rejected, and no order failed


@pytest.mark.parametrize("key_type", KEY_TYPES)
def test_every_key_type_gets_a_certificate_for_its_key(pebble: PebbleServer, responder: Http01Responder,
                                                      key_type: str) -> None:
    issued, key = _run(_provider(pebble)).issue([f"{key_type}.example.test"], responder, key_type)
    assert keys.key_matches_cert(key, issued.cert_pem)
    assert keys.parse_cert(issued.cert_pem).domains == (f"{key_type}.example.test",)


@pytest.mark.parametrize("account_key_type", ["ec384", "rsa2048"])
def test_account_keys_other_than_p256_sign_correctly(pebble: PebbleServer, responder: Http01Responder,
                                                     account_key_type: str) -> None:
    run = _run(_provider(pebble), AccountState(keys.generate_key(account_key_type), ""))
    issued, _ = run.issue([f"acct-{account_key_type}.example.test"], responder)
    assert keys.parse_cert(issued.cert_pem).serial


def test_issue_through_a_webroot_served_by_another_web_server(pebble: PebbleServer, tmp_path: Path) -> None:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", pebble.http_port), handler)
    server.request_queue_size = 64
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        solver = RecordingSolver(WebrootSolver(str(tmp_path)))
        issued, _ = _run(_provider(pebble)).issue(["web.example.test"], solver)
    finally:
        server.shutdown()
        server.server_close()
    assert keys.parse_cert(issued.cert_pem).domains == ("web.example.test",)
    assert solver.presented and solver.cleaned == solver.presented
    assert not list((tmp_path / ".well-known" / "acme-challenge").iterdir())


def test_revoked_certificate_is_revoked_at_the_ca(pebble: PebbleServer, responder: Http01Responder) -> None:
    run = _run(_provider(pebble))
    issued, _ = run.issue(["revoke.example.test"], responder)
    serial = keys.parse_cert(issued.cert_pem).serial
    run.session.revoke(issued.cert_pem, 4)
    assert pebble.cert_status(serial) == "Revoked"
    assert run.kinds()[-1] == EventKind.REVOKED
    with pytest.raises(AcmeProblem, match="alreadyRevoked"):
        run.session.revoke(issued.cert_pem, 4)


def test_certificate_key_can_revoke_without_the_ordering_account(pebble: PebbleServer,
                                                                 responder: Http01Responder) -> None:
    issued, key = _run(_provider(pebble)).issue(["revoke-by-key.example.test"], responder)
    _run(_provider(pebble)).session.revoke(issued.cert_pem, 1, cert_key_pem=key)
    assert pebble.cert_status(keys.parse_cert(issued.cert_pem).serial) == "Revoked"


def test_rolled_over_account_issues_with_the_new_key_only(pebble: PebbleServer,
                                                          responder: Http01Responder) -> None:
    run = _run(_provider(pebble))
    old = run.session.ensure_account()
    new = run.session.rollover()
    assert new.url == old.url and new.key_pem != old.key_pem
    assert keys.key_type_of(new.key_pem) == keys.key_type_of(old.key_pem)
    issued, _ = _run(_provider(pebble), new).issue(["rolled.example.test"], responder)
    assert keys.parse_cert(issued.cert_pem).domains == ("rolled.example.test",)
    with pytest.raises(AcmeProblem):
        _run(_provider(pebble), old).issue(["rolled-old.example.test"], responder)


def test_deactivated_account_is_refused(pebble: PebbleServer, responder: Http01Responder) -> None:
    run = _run(_provider(pebble))
    run.session.deactivate()
    with pytest.raises(AcmeProblem, match="deactivated"):
        run.issue(["deactivated.example.test"], responder)


def test_failed_validation_names_the_domain_and_cleans_up(pebble: PebbleServer) -> None:
    solver = RecordingSolver(Http01Responder(free_port(), "127.0.0.1"))  # not on Pebble's port: refused
    with solver.inner:  # type: ignore[attr-defined]
        with pytest.raises(AcmeProblem) as raised:
            _run(_provider(pebble)).issue(["unreached.example.test"], solver)
    assert raised.value.short_type == "connection"
    assert "unreached.example.test" in raised.value.message
    assert solver.presented and solver.cleaned == solver.presented


def test_blocked_name_is_refused_with_the_cas_reason(pebble: PebbleServer,
                                                     responder: Http01Responder) -> None:
    with pytest.raises(AcmeProblem) as raised:
        _run(_provider(pebble)).issue(["blocked.example.test"], responder)
    assert raised.value.short_type == "rejectedIdentifier" and "blocked.example.test" in raised.value.message


@pytest.fixture
def silent_http_port(pebble: PebbleServer) -> Iterator[socket.socket]:
    """Something that accepts Pebble's validation connections on http_port and never answers."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", pebble.http_port))
        sock.listen(64)
        yield sock


def test_cancel_from_another_thread_stops_an_order_waiting_for_validation(
        pebble: PebbleServer, silent_http_port: socket.socket) -> None:
    """The cancel comes once Pebble is validating (it connected, and nothing will ever answer): only the
    cancel can end this order before Pebble gives up (after 15 s, with a problem, not Cancelled) or the
    order's 10-minute deadline passes."""
    run = _run(_provider(pebble))
    run.session.ensure_account()
    solver = RecordingSolver(Http01Responder(free_port(), "127.0.0.1"))
    held: list[socket.socket] = []

    def cancel_once_validating() -> None:
        silent_http_port.settimeout(60)
        held.append(silent_http_port.accept()[0])
        run.cancel.set()

    threading.Thread(target=cancel_once_validating, daemon=True).start()
    try:
        with pytest.raises(Cancelled):
            finishes(lambda: run.issue(["cancel.example.test"], solver, timeout=600), within=10)
    finally:
        for conn in held:
            conn.close()
    assert held, "Pebble never started validating"
    assert solver.cleaned == solver.presented


def test_order_past_its_deadline_says_which_step_timed_out(pebble: PebbleServer,
                                                           silent_http_port: socket.socket) -> None:
    run = _run(_provider(pebble))
    run.session.ensure_account()
    with pytest.raises(DeadlineExceeded, match="validate slow.example.test"):
        run.issue(["slow.example.test"], Http01Responder(free_port()), timeout=0.5)


def test_renewal_info_suggests_a_window_inside_the_validity(pebble: PebbleServer,
                                                            responder: Http01Responder) -> None:
    if not pebble.has_ari():
        pytest.skip("this Pebble has no ARI")
    run = _run(_provider(pebble))
    issued, _ = run.issue(["ari.example.test"], responder)
    window = run.session.fetch_renewal_info(issued.cert_pem)
    info = keys.parse_cert(issued.cert_pem)
    assert window is not None
    assert info.not_before < window.start < window.end < info.not_after


def test_replaces_is_sent_and_dropped_once_the_cert_was_already_replaced(
    pebble: PebbleServer, responder: Http01Responder
) -> None:
    if not pebble.has_ari():
        pytest.skip("this Pebble has no ARI")
    run = _run(_provider(pebble))
    first, _ = run.issue(["replace.example.test"], responder)
    cert_id = keys.ari_cert_id(first.cert_pem)
    run.issue(["replace.example.test"], responder, replaces=cert_id)
    assert EventKind.RETRY not in run.kinds()
    third, _ = run.issue(["replace.example.test"], responder, replaces=cert_id)
    assert EventKind.RETRY in run.kinds()  # alreadyReplaced: ordered again without `replaces`
    assert keys.parse_cert(third.cert_pem).domains == ("replace.example.test",)


def test_restarted_ca_forgot_the_account_and_issue_registers_again(old_pebble: PebbleServer) -> None:
    with Http01Responder(old_pebble.http_port, "127.0.0.1") as solver:
        account = _run(_provider(old_pebble)).session.ensure_account()
        old_pebble.restart()
        run = _run(_provider(old_pebble), account)
        issued, _ = run.issue(["restart.example.test"], solver)
    assert keys.parse_cert(issued.cert_pem).domains == ("restart.example.test",)
    assert EventKind.RETRY in run.kinds()
    assert run.session.account is not None
    assert run.session.account.url != account.url  # the caller saves the new URL


def test_order_that_comes_back_ready_is_finalized_without_challenges(old_pebble: PebbleServer) -> None:
    with Http01Responder(old_pebble.http_port, "127.0.0.1") as solver:
        run = _run(_provider(old_pebble))
        run.issue(["reuse.example.test"], solver)
        run.events.clear()
        issued, _ = run.issue(["reuse.example.test"], solver)
    assert EventKind.CHALLENGE_PRESENTED not in run.kinds()
    assert any("already validated" in message for _, message, _ in run.events)
    assert keys.parse_cert(issued.cert_pem).domains == ("reuse.example.test",)


def test_ca_without_renewal_info_gives_none(old_pebble: PebbleServer) -> None:
    with Http01Responder(old_pebble.http_port, "127.0.0.1") as solver:
        run = _run(_provider(old_pebble))
        issued, _ = run.issue(["no-ari.example.test"], solver)
    assert run.session.fetch_renewal_info(issued.cert_pem) is None


def test_eab_account_with_the_right_key_can_issue(eab_pebble: PebbleServer) -> None:
    run = _run(_provider(eab_pebble, eab_kid="kid-1", eab_hmac_key=EAB_KEY))
    account = run.session.ensure_account()
    assert account.url and not account.eab_kid  # configured, not fetched: nothing new to keep
    with Http01Responder(eab_pebble.http_port, "127.0.0.1") as solver:
        issued, _ = run.issue(["eab.example.test"], solver)
    assert keys.parse_cert(issued.cert_pem).domains == ("eab.example.test",)


def test_eab_with_a_wrong_hmac_is_refused_clearly(eab_pebble: PebbleServer) -> None:
    wrong = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    with pytest.raises(EabError, match="refused the EAB credentials") as raised:
        _run(_provider(eab_pebble, eab_kid="kid-1", eab_hmac_key=wrong)).session.ensure_account()
    assert wrong not in raised.value.message


def test_eab_with_an_unknown_kid_is_refused_clearly(eab_pebble: PebbleServer) -> None:
    with pytest.raises(EabError, match="kid-9"):
        _run(_provider(eab_pebble, eab_kid="kid-9", eab_hmac_key=EAB_KEY)).session.ensure_account()


def test_eab_required_but_missing_says_how_to_add_it(eab_pebble: PebbleServer) -> None:
    with pytest.raises(EabRequired, match="provider add pebble --eab-kid K --eab-hmac-key H"):
        _run(_provider(eab_pebble)).session.ensure_account()


def test_private_ca_without_ca_bundle_fails_tls_with_the_fix(pebble: PebbleServer) -> None:
    spec = ProviderSpec(name="pebble", directory=pebble.directory)
    with pytest.raises(CaUnreachable, match="set ca_bundle"):
        _run(spec).session.ensure_account()


def test_nothing_listening_is_ca_unreachable() -> None:
    spec = ProviderSpec(name="gone", directory=f"https://127.0.0.1:{free_port()}/dir")
    with pytest.raises(CaUnreachable, match="cannot connect to 127.0.0.1"):
        _run(spec).session.ensure_account()


def test_a_web_page_instead_of_a_directory_is_not_acme(tmp_path: Path) -> None:
    (tmp_path / "dir").write_text("<html>hello</html>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        spec = ProviderSpec(name="web", directory=f"http://127.0.0.1:{server.server_address[1]}/dir")
        with pytest.raises(CaUnreachable, match="not ACME|ACME directory"):
            _run(spec).session.ensure_account()
    finally:
        server.shutdown()
        server.server_close()


def test_pebble_offers_no_profiles(old_pebble: PebbleServer) -> None:
    assert _run(_provider(old_pebble)).session.profiles() == {}
