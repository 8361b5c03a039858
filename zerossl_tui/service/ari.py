"""ACME Renewal Information (RFC 9773): ask the CA when to renew, remember its answer across restarts."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ..core.errors import ZtError
from ..core.models import RenewalState
from ..core.policy import ARI_FAILURE_RETRY, ari_moment, clamp_ari_retry, usable_ari_window
from .accounts import open_session
from .deps import Deps, info_from_meta

if TYPE_CHECKING:
    from ..engine.session import AcmeSession, RenewalWindow

NO_ARI_RETRY = timedelta(days=1)


def ari_wanted(state: RenewalState, not_after: datetime | None, now: datetime) -> bool:
    """Ask again when the retry time has come; never about a missing or expired certificate."""
    if not_after is None or now >= not_after:
        return False
    return state.ari_retry_at is None or state.ari_retry_at <= now


def refresh_ari(
    deps: Deps, name: str, *, session: AcmeSession | None = None,
    rng: random.Random | None = None,
) -> RenewalState:
    """Fetch the CA's suggested window for ``name``'s certificate when it is time to, and store it."""
    now = deps.clock.now()
    state = deps.journal.get_state(name)
    info = deps.current_info(name)
    if info is None or not ari_wanted(state, info.not_after, now):
        return state
    stored = deps.store.current(name)
    if stored is None:
        return state
    try:
        session = session or open_session(deps, deps.certificate(name).provider)
        window = session.fetch_renewal_info(stored.cert_pem)
    except ZtError as exc:
        # Fall back to the lifetime rule now; ask ARI again in about six hours.
        new = replace(state, ari_retry_at=now + ARI_FAILURE_RETRY, ari_explanation=f"ARI failed: {exc.message}")
        deps.journal.put_state(name, new)
        return new
    if window is not None and not usable_ari_window(info, window.start, window.end):
        new = replace(state, ari_window_start=None, ari_window_end=None, ari_chosen=None,
                      ari_retry_at=now + clamp_ari_retry(window.retry_after),
                      ari_explanation="the CA's renewal window lies outside the certificate's lifetime")
        deps.journal.put_state(name, new)
        return new
    new = _with_window(state, window, now, rng or random.Random())
    deps.journal.put_state(name, new)
    return new


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


def refresh_due(deps: Deps, cancel: threading.Event, log: Callable[[str], None]) -> None:
    """One ARI question per certificate whose retry time has come (one session per provider); one
    certificate's failure is logged and never stops the others. A provider is asked for its directory once
    per turn: when that fails, or when it offers no ARI, its certificates are skipped (at 10,000 that is one
    request instead of 10,000, each of which could wait for a timeout)."""
    now = deps.clock.now()
    states = deps.journal.all_states()
    sessions: dict[str, AcmeSession | None] = {}
    specs = list(deps.settings.certificates.values())
    metas = deps.store.current_metas([spec.name for spec in specs])  # one index read, not 2 files each
    for spec in specs:
        info = info_from_meta(metas.get(spec.name))
        state = states.get(spec.name, RenewalState())
        if cancel.is_set() or not ari_wanted(state, info.not_after if info else None, now):
            continue
        if spec.provider not in sessions:
            sessions[spec.provider] = _ari_session(deps, spec.provider, cancel, log)
        session = sessions[spec.provider]
        if session is None or (not session.has_ari() and state.ari_window_start is None):
            continue  # unreachable this turn, or no ARI and no old window to clear
        try:
            refresh_ari(deps, spec.name, session=session)
        except ZtError as exc:
            log(f"{spec.name}: renewal information: {exc.message}")


def _ari_session(deps: Deps, provider: str, cancel: threading.Event, log: Callable[[str], None]
                 ) -> AcmeSession | None:
    """A session for ``provider`` whose directory answered (``has_ari`` then needs no request); None, logged
    once, when it did not."""
    try:
        session = open_session(deps, provider, cancel=cancel)
        session.has_ari()
        return session
    except ZtError as exc:
        log(f"provider {provider}: renewal information: {exc.message} (asked again at the next turn)")
        return None
