"""ACME Renewal Information (RFC 9773): ask the CA when to renew, remember its answer across restarts.

The scheduler's pass over every certificate (``refresh_due``) is paced by need: those near their renewal
first, at most LOOKUPS_PER_SECOND look-ups, the others spread over about FAR_SPREAD, so 10,000 certificates
are asked over up to two hours instead of one burst of CPU and of requests at the CA. Answers are
committed in batches (``put_states``); each carries its next retry time (``ari_retry_at``), so a pass
stopped in the middle (cancel, restart, a renewal that came due) goes on where it stopped. Each version's
CertID is kept in its meta (``ARI_CERT_ID``) when it is stored: no certificate is parsed per
look-up (a version stored by an older release, without it, is parsed from its cert.pem at each look-up).
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..core.errors import ZtError
from ..core.models import CertificateSpec, CertInfo, RenewalState
from ..core.policy import ARI_FAILURE_RETRY, ari_moment, clamp_ari_retry, is_due, next_renewal, usable_ari_window
from .accounts import SharedSessions, open_session
from .deps import Deps, info_from_meta

if TYPE_CHECKING:
    from ..engine.session import AcmeSession, RenewalWindow

NO_ARI_RETRY = timedelta(days=1)
ARI_CERT_ID = "ari_cert_id"  # a version's meta: its ARI CertID, computed once when the version is stored
# At most this many look-ups a second in the scheduler's pass (the certificates near their renewal go at
# this pace, the others slower: see NEAR). Why 5: 10,000 certificates at this pace take about 33 minutes, far
# inside the hours a CA's Retry-After gives (Let's Encrypt's is 6 hours), so every answer is still fresh when
# the next pass comes; the CA sees a trickle instead of 10,000 GETs at once (its per-IP limits are shared
# with every other client of the host); and a paced look-up costs 1-3 ms of our CPU (more than unpaced: each
# one wakes a sleeping thread), so 5 a second cost a dashboard about 0.65% of a core (measured at 10,000,
# 1.3 ms a look-up), where 10 a second would take most of issue 14's idle budget of 1%. 0: unpaced.
LOOKUPS_PER_SECOND = 5.0
# Pace by need. A certificate whose next renewal is at most NEAR away (due, close to its lifetime-rule
# moment, or never asked and close: short-lived certificates always are) is asked first, soonest renewal
# first, at LOOKUPS_PER_SECOND: an answer may bring its renewal forward. The others are asked after them,
# spread over about FAR_SPREAD (never slower than FAR_FLOOR a second, never faster than LOOKUPS_PER_SECOND):
# an ARI answer only moves a renewal earlier than the lifetime rule, weeks ahead an answer an hour later
# changes nothing, and a CA that wants a certificate replaced at once (an incident: CAs revoke within 24 hours
# to 5 days) is still heard within a few hours. At 10,000 the far ones go at 1.4 a second instead of 5: a
# quarter of the CPU, so a dashboard stays inside its 1% during the pass. (The scheduler ends a pass within
# the hour and the next one paces those left again, at least FAR_FLOOR: 10,000 take about 2.4 hours, every
# answer still fresh inside a 6-hour Retry-After.)
NEAR = timedelta(days=7)
FAR_SPREAD = timedelta(hours=2)
FAR_FLOOR = 1.0
# Answers committed together, in one transaction: a pass killed in the middle asks at most these again.
BATCH = 20

# The scheduler's wait between two look-ups: wait ``seconds`` (0: only look), False when the pass must stop
# now (cancelled, woken, a renewal came due); what it did not ask is asked at the next pass.
Pause = Callable[[float], bool]


def ari_wanted(state: RenewalState, not_after: datetime | None, now: datetime) -> bool:
    """Ask again when the retry time has come; never about a missing or expired certificate."""
    if not_after is None or now >= not_after:
        return False
    return state.ari_retry_at is None or state.ari_retry_at <= now


def ari_meta(cert_pem: bytes) -> dict[str, str]:
    """What a new version's meta keeps for ARI: its CertID (nothing when it has none: no AKI)."""
    from ..engine.keys import ari_cert_id

    try:
        return {ARI_CERT_ID: ari_cert_id(cert_pem)}
    except ZtError:
        return {}


@dataclass(frozen=True)
class Question:
    """One certificate to ask about: its current version's meta and facts, and its renewal state."""

    name: str
    meta: Mapping[str, Any]
    info: CertInfo
    state: RenewalState


def refresh_ari(
    deps: Deps, name: str, *, session: AcmeSession | None = None,
    rng: random.Random | None = None,
) -> RenewalState:
    """Fetch the CA's suggested window for ``name``'s certificate when it is time to, and store it."""
    now = deps.clock.now()
    state = deps.journal.get_state(name)
    meta = deps.store.current_meta(name)
    info = info_from_meta(meta)
    if meta is None or info is None or not ari_wanted(state, info.not_after, now):
        return state
    cert = cert_id_of(deps, name, meta)
    if cert is None:
        return state
    try:
        session = session or open_session(deps, deps.certificate(name).provider)
    except ZtError as exc:
        new = _failed(state, exc, now)
    else:
        new = answer(Question(name, meta, info, state), cert, session, now, rng or random.Random())
    deps.journal.put_state(name, new)
    return new


def cert_id_of(deps: Deps, name: str, meta: Mapping[str, Any]) -> bytes | str | None:
    """The CertID kept in the version's meta when it names this version's serial; else the certificate's PEM
    (a version stored by an older release: the engine parses it); None when nothing is stored."""
    known = meta.get(ARI_CERT_ID)
    if isinstance(known, str) and names_serial(known, meta.get("serial")):
        return known
    stored = deps.store.current(name)
    return stored.cert_pem if stored is not None else None


def names_serial(cert_id: str, serial: object) -> bool:
    """True when ``cert_id`` ends with the serial ``serial`` (hex, as a meta keeps it) in ARI's form."""
    try:
        number = int(str(serial), 16)
    except ValueError:
        return False
    der = number.to_bytes((number.bit_length() + 8) // 8, "big")
    return cert_id.endswith("." + base64.urlsafe_b64encode(der).rstrip(b"=").decode("ascii"))


def answer(ask: Question, cert: bytes | str, session: AcmeSession, now: datetime, rng: random.Random
           ) -> RenewalState:
    """The new renewal state after asking ``session``'s CA about ``cert`` (a CertID or a PEM)."""
    state = ask.state
    try:
        window = session.fetch_renewal_info(cert)
    except ZtError as exc:
        return _failed(state, exc, now)
    if window is not None and not usable_ari_window(ask.info, window.start, window.end):
        return replace(state, ari_window_start=None, ari_window_end=None, ari_chosen=None,
                       ari_retry_at=now + clamp_ari_retry(window.retry_after),
                       ari_explanation="the CA's renewal window lies outside the certificate's lifetime")
    return _with_window(state, window, now, rng)


def _failed(state: RenewalState, exc: ZtError, now: datetime) -> RenewalState:
    """Fall back to the lifetime rule now; ask ARI again in about six hours."""
    return replace(state, ari_retry_at=now + ARI_FAILURE_RETRY, ari_explanation=f"ARI failed: {exc.message}")


def _with_window(state: RenewalState, window: RenewalWindow | None, now: datetime, rng: random.Random) -> RenewalState:
    if window is None:
        return replace(state, ari_window_start=None, ari_window_end=None, ari_chosen=None,
                       ari_retry_at=now + NO_ARI_RETRY, ari_explanation="")
    same = (state.ari_window_start, state.ari_window_end) == (window.start, window.end)
    chosen = state.ari_chosen if same and state.ari_chosen else ari_moment(window.start, window.end, rng.random())
    return replace(
        state, ari_window_start=window.start, ari_window_end=window.end, ari_chosen=chosen,
        ari_retry_at=now + clamp_ari_retry(window.retry_after), ari_explanation=window.explanation_url,
    )


def refresh_due(deps: Deps, cancel: threading.Event, log: Callable[[str], None], pause: Pause | None = None
                ) -> bool:
    """One ARI question per certificate whose retry time has come, paced (LOOKUPS_PER_SECOND), answers
    committed in batches; True when every one was asked, False when the pass stopped early (``pause`` said
    so, or ``cancel``): the rest are asked at the next call. One certificate's failure is logged and never
    stops the others. A provider is asked for its directory once per pass: when that fails, or when it
    offers no ARI, its certificates are skipped (at 10,000, one request instead of 10,000 timeouts)."""
    wanted = questions(deps, deps.clock.now())
    if not wanted:
        return True
    return AriPass(deps, cancel, log, pause).run(wanted)


def questions(deps: Deps, now: datetime) -> list[tuple[CertificateSpec, Question]]:
    """The certificates whose time to ask has come, in the settings' order (stable: a pass that stopped
    goes on with those it had not asked), from one read of the states and of the meta index."""
    states = deps.journal.all_states()
    specs = list(deps.settings.certificates.values())
    metas = deps.store.current_metas([spec.name for spec in specs])  # the index: no file read per certificate
    wanted = []
    for spec in specs:
        meta = metas.get(spec.name)
        info = info_from_meta(meta)
        state = states.get(spec.name, RenewalState())
        if meta is not None and info is not None and ari_wanted(state, info.not_after, now):
            wanted.append((spec, Question(spec.name, meta, info, state)))
    return by_need(wanted, now)


def by_need(wanted: list[tuple[CertificateSpec, Question]], now: datetime) -> list[tuple[CertificateSpec, Question]]:
    """``wanted`` with the certificates near their renewal first, soonest first (see NEAR); the others
    after them, in their order."""
    near = sorted((item for item in wanted if is_near(item[1], now)),
                  key=lambda item: next_renewal(item[1].info, item[1].state, now).at)
    names = {ask.name for _, ask in near}
    return near + [item for item in wanted if item[1].name not in names]


def is_near(ask: Question, now: datetime) -> bool:
    """True when the certificate's next renewal (as known before asking) is at most NEAR away."""
    return next_renewal(ask.info, ask.state, now).at <= now + NEAR


def far_pace(count: int) -> float:
    """Look-ups a second for ``count`` certificates far from their renewal (see NEAR); 0: unpaced."""
    if LOOKUPS_PER_SECOND <= 0:
        return 0.0
    return min(LOOKUPS_PER_SECOND, max(FAR_FLOOR, count / FAR_SPREAD.total_seconds()))


class AriPass:
    """One paced pass: sessions per provider, the pace, and the answers not yet committed."""

    def __init__(self, deps: Deps, cancel: threading.Event, log: Callable[[str], None], pause: Pause | None
                 ) -> None:
        self.deps, self.cancel, self.log = deps, cancel, log
        self.pause: Pause = pause or (lambda seconds: not cancel.wait(seconds))
        self.sessions: dict[str, AcmeSession | None] = {}
        self.shared = SharedSessions(1, deps.clock.monotonic)  # one kept-alive connection per CA
        self.answers: dict[str, tuple[str, RenewalState]] = {}  # name -> (serial asked about, new state)
        self.rng = random.Random()
        self.slot = deps.clock.monotonic()  # when the next look-up may start

    def run(self, wanted: list[tuple[CertificateSpec, Question]]) -> bool:
        """Ask about each of ``wanted`` in turn; False when stopped before the end."""
        now = self.deps.clock.now()
        near = sum(1 for _, ask in wanted if is_near(ask, now))  # ``wanted`` has them first (``by_need``)
        try:
            for index, (spec, ask) in enumerate(wanted):
                session = self._session(spec.provider, ask)
                if session is None:
                    continue
                if not self._turn(LOOKUPS_PER_SECOND if index < near else far_pace(len(wanted) - near)):
                    return False
                if self._ask(ask, session):
                    return False  # its answer made it due: the renewal comes before the rest of the pass
            return True
        finally:
            self.flush()
            self.shared.close()

    def flush(self) -> None:
        """Commit the answers gathered so far in one transaction, except those of a certificate renewed
        meanwhile (its new version's state is not ours to overwrite: it is asked about at the next pass)."""
        answers, self.answers = self.answers, {}
        if not answers:
            return
        metas = self.deps.store.current_metas(list(answers))
        keep = {name: state for name, (serial, state) in answers.items()
                if name not in self.deps.running and _same_version(metas.get(name), serial)}
        self.deps.journal.put_states(keep)

    def _session(self, provider: str, ask: Question) -> AcmeSession | None:
        """The session to ask ``provider`` with; None when there is nothing to ask this turn: cancelled, the
        provider is unreachable, or offers no ARI and there is no old window to clear, or an order of this
        process is renewing the certificate (it asks about the new one itself)."""
        if self.cancel.is_set() or ask.name in self.deps.running:
            return None
        if provider not in self.sessions:
            self.sessions[provider] = _ari_session(self.deps, provider, self.cancel, self.log, self.shared)
        session = self.sessions[provider]
        if session is None or not (session.has_ari() or ask.state.ari_window_start is not None):
            return None
        return session

    def _turn(self, rate: float) -> bool:
        """Wait for this look-up's slot (``rate`` a second, 0: at once); False when the pass must stop."""
        clock = self.deps.clock
        if not self.pause(max(0.0, self.slot - clock.monotonic())) or self.cancel.is_set():
            return False
        self.slot = max(self.slot, clock.monotonic()) + (1.0 / rate if rate > 0 else 0.0)
        return True

    def _ask(self, ask: Question, session: AcmeSession) -> bool:
        """Ask about one certificate and keep the answer; True when the answer made it due now. Its state
        is read again first: a pass lasts minutes, and another process (a second scheduler, a `renew`) may
        have asked or written meanwhile."""
        now = self.deps.clock.now()
        try:
            state = self.deps.journal.get_state(ask.name)
            cert = cert_id_of(self.deps, ask.name, ask.meta) if ari_wanted(state, ask.info.not_after, now) else None
        except ZtError as exc:
            self.log(f"{ask.name}: renewal information: {exc.message}")
            return False
        if cert is None:
            return False
        new = answer(replace(ask, state=state), cert, session, now, self.rng)
        self.answers[ask.name] = (ask.info.serial, new)
        due = is_due(ask.info, new, now) and not is_due(ask.info, state, now)
        if due or len(self.answers) >= BATCH:
            self.flush()
        return due


def _same_version(meta: Mapping[str, Any] | None, serial: str) -> bool:
    """False when the current version is no longer the one with ``serial`` (a damaged meta.json names no
    serial: its answer is kept, as before batches)."""
    return meta is None or "serial" not in meta or str(meta["serial"]) == serial


def _ari_session(deps: Deps, provider: str, cancel: threading.Event, log: Callable[[str], None],
                 shared: SharedSessions) -> AcmeSession | None:
    """A session for ``provider`` whose directory answered (``has_ari`` then needs no request); None, logged
    once, when it did not. It sends over ``shared``'s connections for that CA: kept alive, and the proxy
    settings read from the environment once instead of at every look-up (a fifth of a look-up's CPU)."""
    try:
        directory = deps.settings.provider(provider).directory
        session = open_session(deps, provider, cancel=cancel, shared=shared.get(provider, directory))
        session.has_ari()
        return session
    except ZtError as exc:
        log(f"provider {provider}: renewal information: {exc.message} (asked again at the next turn)")
        return None
