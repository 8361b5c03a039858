"""Notifications: which events are active for each certificate, and sending each once a day at most.

Events: ``failure`` (the last renewal attempt failed), ``expiring`` (less than ``expiring_days`` left),
``verify-failed`` (an endpoint does not serve the current certificate), and ``recovered`` (sent once when
a failure or verify-failed clears). An active event is sent when it starts and again each day while it
lasts; the times are kept in ``notify-state.json`` in the data folder, so restarts do not repeat them.
Sending never raises: a failing target costs one log line and nothing else.

``notify_all`` is what the daemon, ``renew`` and the dashboard call after an order (success or failure),
after a verification, and periodically.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..core.text import printable
from ..storage.fsutil import atomic_write, ensure_dir, read_bytes_or_none

STATE_FILE = "notify-state.json"
REPEAT = timedelta(days=1)
_RECOVERABLE = ("failure", "verify-failed", "expiring")
Send = Callable[[list[str], str, str, str], list[str]]
Log = Callable[[str], None]


NOT_SENT_HINT = "check that the target is up and the URL is right"  # CLI and dashboard say the same

@dataclass(frozen=True)
class CertFacts:
    """What notifications need to know about one certificate right now."""

    name: str
    not_after: datetime | None
    failures: int = 0
    last_error: str = ""
    bad_endpoints: tuple[str, ...] = ()  # "HOST:PORT stale (serves serial X)" / "HOST:PORT unreachable: why"


@dataclass(frozen=True)
class NotifyConfig:
    """The targets and choices of ``[notify]``; ``send`` delivers (engine.notify.send)."""

    urls: list[str]
    events: tuple[str, ...]
    expiring_days: int
    state_dir: Path
    send: Send
    log: Log


def active_events(facts: CertFacts, expiring_days: int, now: datetime) -> dict[str, tuple[str, str]]:
    """``{event: (title, body)}`` for every event that holds for ``facts`` at ``now``."""
    left = _left(facts.not_after, now)
    out: dict[str, tuple[str, str]] = {}
    if facts.failures:
        out["failure"] = _failure(facts, left)
    if facts.not_after is not None and facts.not_after - now < timedelta(days=expiring_days):
        out["expiring"] = (f"{facts.name}: expiring", f"{facts.name}: {left} and no renewal has succeeded yet.")
    if facts.bad_endpoints:
        out["verify-failed"] = (f"{facts.name}: not served", f"{facts.name}: " + "; ".join(facts.bad_endpoints)
                                + ". Reload the web server or check the endpoint.")
    return out


def _failure(facts: CertFacts, left: str) -> tuple[str, str]:
    """A failed renewal, or a failed first issuance when nothing was ever issued (then no renewal has been
    tried: "renewal attempt 1" made a reader look for a certificate that does not exist)."""
    what = "renewal" if facts.not_after is not None else "first issuance"
    attempt = f"{what} attempt {facts.failures}" if facts.failures > 1 or what == "renewal" else what
    return (f"{facts.name}: {what} failed",
            f"{facts.name}: {attempt} failed: {facts.last_error or 'no detail'}; {left}.")


def notify_all(facts: Iterable[CertFacts], config: NotifyConfig, now: datetime) -> list[str]:
    """Send what is due for every certificate; returns the titles sent. Never raises."""
    state = load_state(config.state_dir)
    sent: list[str] = []
    for one in facts:
        current = active_events(one, config.expiring_days, now)
        sent += _due(state.setdefault(one.name, {}), one, current, config, now)
    if config.urls:
        _save_state(config.state_dir, state, config.log)
    return sent


def _due(memory: dict[str, Any], facts: CertFacts, current: dict[str, tuple[str, str]],
         config: NotifyConfig, now: datetime) -> list[str]:
    """Send the events of one certificate that are new or a day old; 'recovered' for those that cleared."""
    messages = []
    cleared = [e for e in list(memory) if e not in current]
    for event in cleared:
        del memory[event]
    if over := [e for e in cleared if e in _RECOVERABLE]:
        messages.append(("recovered", (f"{facts.name}: recovered",
                                       f"{facts.name}: {', '.join(over)} is over; {_left(facts.not_after, now)}.")))
    for event, text in current.items():
        last = _parse(memory.get(event, {}).get("sent"))
        memory[event] = {"sent": (now if last is None or now - last >= REPEAT else last).isoformat()}
        if last is None or now - last >= REPEAT:
            messages.append((event, text))
    return [title for event, (title, body) in messages if _send(config, event, title, body)]


def _send(config: NotifyConfig, event: str, title: str, body: str) -> bool:
    if event not in config.events or not config.urls:
        return False
    kind = {"failure": "failure", "verify-failed": "failure", "expiring": "warning", "recovered": "success"}
    try:
        # A CA's detail or a hook's output may hold terminal escapes: a message read in a terminal
        # (ntfy, mail) shows them as text, like every other surface.
        failed = config.send(config.urls, printable(title), printable(body), kind.get(event, "info"))
    except Exception as exc:  # noqa: BLE001 - a notification must never block a renewal
        failed = [f"{type(exc).__name__}"]
    for line in failed:
        config.log(f"notification {event} not sent to {line}: check the target and its URL "
                   "(`zerossl-tui notify test` tries every URL)")
    return len(failed) < len(config.urls)


def _left(not_after: datetime | None, now: datetime) -> str:
    if not_after is None:
        return "no certificate has been issued yet"
    seconds = (not_after - now).total_seconds()
    if seconds <= 0:
        return f"it expired at {not_after.isoformat()}"
    return f"{seconds / 86400:.1f} days left (expires {not_after.isoformat()})"


def _parse(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def load_state(state_dir: Path) -> dict[str, dict[str, Any]]:
    """``{name: {event: {"sent": iso}}}``; {} when missing or damaged (then events are simply sent again)."""
    raw = read_bytes_or_none(Path(state_dir) / STATE_FILE)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def _save_state(state_dir: Path, state: dict[str, dict[str, Any]], log: Log) -> None:
    from ..core.errors import StorageError

    try:
        atomic_write(ensure_dir(state_dir) / STATE_FILE, json.dumps(state, indent=2, sort_keys=True).encode(),
                     0o600)
    except StorageError as exc:
        log(f"notification state not saved: {exc.message}")


def facts_from(name: str, meta: dict[str, Any] | None, failures: int, last_error: str,
               served: dict[str, Any]) -> CertFacts:
    """CertFacts from the stored meta.json, the renewal state and ``served.json``'s entry for ``name``."""
    not_after = _parse((meta or {}).get("not_after"))
    bad = []
    for endpoint, check in sorted(served.items()):
        if isinstance(check, dict) and check.get("state") == "stale":
            bad.append(f"{endpoint} serves serial {check.get('served_serial')}, not {check.get('expected_serial')}")
        elif isinstance(check, dict) and check.get("state") == "unreachable":
            bad.append(f"{endpoint} unreachable: {check.get('error')}")
    return CertFacts(name, not_after, failures, last_error, tuple(bad))


def add_url(secrets_paths: Any, url: str) -> int:
    """Keep ``url`` (checked by apprise) in secrets.toml; returns its number in ``notify list``."""
    from ..engine.notify import check_url
    from ..storage.notify_urls import save_notify_urls
    from ..storage.settings_file import load_notify_urls

    url = check_url(url)
    urls = load_notify_urls(secrets_paths.secrets_file)
    if url not in urls:
        urls.append(url)
        save_notify_urls(secrets_paths, urls)
    return urls.index(url) + 1


def remove_url(secrets_paths: Any, number: int) -> str:
    """Forget URL number ``number`` (1-based, as ``notify list`` shows); returns it masked."""
    from ..core.errors import UsageError
    from ..engine.notify import mask
    from ..storage.notify_urls import save_notify_urls
    from ..storage.settings_file import load_notify_urls

    urls = load_notify_urls(secrets_paths.secrets_file)
    if not 1 <= number <= len(urls):
        raise UsageError(f"no notification URL number {number} (there are {len(urls)}): see `notify list`")
    removed = urls.pop(number - 1)
    save_notify_urls(secrets_paths, urls)
    return mask(removed)


def config_for(settings: Any, paths: Any, log: Log) -> NotifyConfig:
    """The NotifyConfig of the current settings and secrets."""
    from ..engine.notify import send
    from ..storage.settings_file import load_notify_urls

    table = settings.table("notify")
    return NotifyConfig(load_notify_urls(paths.secrets_file), tuple(table["events"]), int(table["expiring_days"]),
                        paths.data_dir, send, log)


def masked(urls: list[str]) -> list[str]:
    """The URLs as they may be shown (see ``engine.notify.mask``)."""
    from ..engine.notify import mask

    return [mask(u) for u in urls]
