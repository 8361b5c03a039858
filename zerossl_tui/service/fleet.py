"""The fleet side of a daemon (PostgreSQL backend): what every host does besides renewing.

- a heartbeat every few seconds, so `storage status` and the dashboard see who is alive;
- an http-01 responder listening on every configured ``http_port`` for as long as the daemon runs, which
  answers every token in the database (the CA's request may reach any host behind a load balancer);
- webroot hosts write the tokens presented in the database into their own web root (told by a
  notification, checked on the timer too) and remove them once withdrawn;
- deploy everywhere: when a version becomes current (a notification naming it, deployed as it arrives,
  or the periodic check as fallback),
  this host writes it to its own certfile/keyfile, runs its own deploy hook, and records what it serves.

PostgreSQL away: the files on disk keep being served, each step fails in one logged line, and the listener
connects again by itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol

from ..core.errors import ZtError
from ..core.models import CertificateSpec, EventKind, StoredCert
from ..storage.backend import Backend
from .deploys import pending_deploys
from .deps import Deps, info_from_meta
from .order_hooks import deploy_hook
from .recorder import Recorder
from .responders import SharedResponder

HEARTBEAT_SECONDS = 5.0
CHECK_SECONDS = 10.0  # the fallback look at current versions, for notifications lost while disconnected
RETRY_SECONDS = 2.0
DEPLOY_WORKERS = 4  # deployments of one wave of new versions that run at once
RECHECK_SECONDS = 0.5  # a certificate left to an order of this process: look again this soon


class FleetApi(Protocol):
    """What the agent needs of the service."""

    @property
    def backend(self) -> Backend: ...

    def deps(self) -> Deps: ...


class HostLog(Recorder):
    """Hook output of a deployment this host makes of another host's order: logged, not journaled (the
    journal holds orders; this host made none)."""

    def __init__(self, deps: Deps, name: str, log: Callable[[str], None]) -> None:  # noqa: D107
        self.deps, self.name, self.log = deps, name, log
        self.order_id, self.result = 0, None

    def __call__(self, kind: EventKind, message: str, retry_after: float | None = None) -> None:
        self.log(f"{self.name}: {kind.value}: {message}")


@dataclass
class DeployRound:
    """What one ``deploy_current`` did: the names deployed, those whose deployment failed, and those it
    left to an order or a heal of this process. The last two are looked at again shortly (that order may
    end without deploying, e.g. when it finds that another host renewed the certificate)."""

    done: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def deploy_current(deps: Deps, log: Callable[[str], None]) -> DeployRound:
    """Deploy every certificate of this host whose current version it does not serve yet.

    A certificate this process is ordering, or whose deployment on this host is pending (an order or a
    heal of this host is on it), is left to that: its hooks must not run twice. What this host serves is
    read again after those checks, so that an order that finished meanwhile (and recorded what it
    serves) is not deployed a second time.
    """
    current = _current_versions(deps)
    served = _served_versions(deps)
    behind = [n for n in sorted(deps.settings.certificates) if n in current and served.get(n) != current[n]]
    pending = set(pending_deploys(deps, behind)) if behind else set()
    out = DeployRound(waiting=[n for n in behind if n in deps.running or n in pending])
    ready = [n for n in behind if n not in out.waiting]
    if ready:
        served = _served_versions(deps)
        ready = [n for n in ready if served.get(n) != current[n]]
    one = partial(_deploy_logged, deps, log)
    if len(ready) <= 1:
        results = [one(name) for name in ready]
    else:  # several at once (a renewal wave): the work is mostly waiting for the database and the disk
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(min(DEPLOY_WORKERS, len(ready)), thread_name_prefix="fleet deploy") as pool:
            results = list(pool.map(one, ready))
    out.done = [name for name, ok in zip(ready, results, strict=True) if ok is True]
    out.failed = [name for name, ok in zip(ready, results, strict=True) if ok is None]
    return out


def _deploy_logged(deps: Deps, log: Callable[[str], None], name: str, unless_pending: bool = False) -> bool | None:
    """``_deploy_one``; None when it failed (logged: it never stops the other certificates)."""
    try:
        return _deploy_one(deps, deps.settings.certificates[name], log, unless_pending)
    except ZtError as exc:
        log(f"{name}: deploying the fleet's current version failed: {exc.message}")
        return None


def _current_versions(deps: Deps) -> dict[str, str]:
    versions: Callable[[], dict[str, str]] | None = getattr(deps.store, "current_versions", None)
    return versions() if versions is not None else {}


def _served_versions(deps: Deps) -> dict[str, str]:
    hosts: Any = getattr(deps.store, "hosts", None)
    return hosts.served_versions() if hosts is not None else {}


def _deploy_one(deps: Deps, spec: CertificateSpec, log: Callable[[str], None], unless_pending: bool = False) -> bool:
    # The version is read, and the files written, under this host's deploy lock of the certificate: a
    # `renew --force` on this host may be deploying its own new version right now.
    deploy: Callable[..., tuple[StoredCert, list[str]] | None] | None = getattr(deps.store, "deploy_current", None)
    done = deploy(spec, unless_pending=unless_pending) if deploy is not None else None  # records what it serves
    if done is None:
        return False
    stored, written = done
    info = info_from_meta(stored.meta)
    if info is None:
        return False
    log(f"{spec.name}: serving serial {info.serial}" + (f" (wrote {', '.join(written)})" if written else ""))
    deploy_hook(deps, spec, info, HostLog(deps, spec.name, log), stored)
    return True


class DeployQueue:
    """Deploys the certificates named by notifications as they arrive, DEPLOY_WORKERS at a time: a version
    made current in the middle of a wave of deployments starts at once instead of after the wave (which on
    a busy host took seconds), and nothing is read for the certificates that did not change. A name
    already queued or deploying is not queued twice; the deploy lock and the look at what this host serves
    under it make a deployment that races the agent's full check harmless."""

    def __init__(self, log: Callable[[str], None]) -> None:  # noqa: D107
        self.log = log
        self.recheck = False  # a name was left to an order of this host, or failed: look again soon
        self._busy: set[str] = set()
        self._guard = threading.Lock()
        self._pool: Any = None

    def submit(self, deps: Deps, names: list[str]) -> None:
        """Deploy each of ``names`` that this host serves (in the background)."""
        from concurrent.futures import ThreadPoolExecutor

        with self._guard:
            todo = [n for n in dict.fromkeys(names) if n in deps.settings.certificates and n not in self._busy]
            self._busy.update(todo)
            if todo and self._pool is None:
                self._pool = ThreadPoolExecutor(DEPLOY_WORKERS, thread_name_prefix="fleet deploy")
            for name in todo:
                self._pool.submit(self._one, deps, name)

    def _one(self, deps: Deps, name: str) -> None:
        from ..storage.postgres import DeployPending

        try:
            # Left to an order or a heal of this host, which deploys it with its hooks: one running in this
            # process, or a deployment recorded pending (read in the deployment's own query, under its lock).
            if name in deps.running or _deploy_logged(deps, self.log, name, unless_pending=True) is None:
                self.recheck = True
        except DeployPending:
            self.recheck = True
        except ZtError as exc:
            self.log(f"{name}: deploying the fleet's current version failed: {exc.message}")
            self.recheck = True
        finally:
            with self._guard:
                self._busy.discard(name)

    def close(self) -> None:
        """Finish what runs, drop what waits."""
        with self._guard:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def sync_webroot_tokens(deps: Deps, written: set[str], log: Callable[[str], None]) -> None:
    """Make the web root of every webroot certificate of this host hold exactly the tokens presented in the
    database: new ones written, withdrawn ones (that this host wrote) removed. ``written`` is updated."""
    from ..engine.solvers import WebrootSolver

    roots = sorted({spec.webroot for spec in deps.settings.certificates.values() if spec.webroot})
    listing: Callable[[], dict[str, str]] | None = getattr(deps.challenges, "tokens", None)
    if not roots or listing is None:
        return
    present = listing()
    for root in roots:
        solver = WebrootSolver(root)
        try:
            for token in sorted(set(present) - written):
                solver.present("", token, present[token])
            for token in sorted(written - set(present)):
                solver.cleanup("", token)
        except ZtError as exc:
            log(f"webroot {root}: {exc.message}")
    written.clear()
    written.update(present)


def _heal_orders(deps: Deps) -> None:
    """Close the orders of hosts that died (no heartbeat, no lease) as interrupted, then forget the http-01
    tokens such hosts left behind (so that the table does not grow for ever)."""
    deps.journal.heal(deps.clock.now())
    prune: Callable[[], int] | None = getattr(deps.challenges, "prune_tokens", None)
    if prune is not None:
        prune()


class FleetAgent:
    """Runs the fleet duties of one daemon in a background thread until ``stop()``."""

    def __init__(self, service: FleetApi, cancel: threading.Event, log: Callable[[str], None], *,
                 heartbeat: float = HEARTBEAT_SECONDS, check: float = CHECK_SECONDS,
                 wake: Callable[[], None] | None = None) -> None:
        self.service = service
        self.wake = wake  # the scheduler's: a command on some host changed a certificate's renewal state
        self.cancel = cancel
        self.log = log
        self.heartbeat = heartbeat
        self.check = check
        self._stop = threading.Event()
        self._responders: dict[tuple[str, int], SharedResponder] = {}
        self._thread: threading.Thread | None = None
        self._down = False
        self._refused: set[tuple[str, int]] = set()
        self._next_beat = self._next_check = self._next_deploy = 0.0
        self._written: set[str] = set()  # tokens this host wrote into its web roots
        self._relisten = False
        self._queue = DeployQueue(log)

    def start(self) -> None:
        """Start responders and the background loop; from now on this process is a fleet daemon, whose own
        renewal-state writes wake no other daemon."""
        from ..storage.postgres import daemon_process

        daemon_process()
        self._thread = threading.Thread(target=self._run, name="fleet agent", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the loop and close the responders."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._queue.close()
        for responder in self._responders.values():
            responder.stop()
        self._responders.clear()

    def _stopping(self) -> bool:
        return self._stop.is_set() or self.cancel.is_set()

    def _run(self) -> None:
        from ..storage.postgres import fleet_hosts, fleet_listener

        backend = self._open_backend()
        if backend is None:
            return
        listener, hosts = fleet_listener(backend), fleet_hosts(backend)
        if listener is None or hosts is None:
            return
        try:
            self._listen(listener, 0.01)  # LISTEN before the first check, so that nothing falls in between
            while not self._stopping():
                self._once(listener, hosts.record_heartbeat)
        finally:
            listener.close()

    def _open_backend(self) -> Backend | None:
        """The service's backend, waiting (and retrying) while the database is away at start; None when
        stopped first."""
        while not self._stopping():
            try:
                return self.service.backend
            except ZtError as exc:
                self._note_down(exc)
                self._stop.wait(RETRY_SECONDS)
        return None

    def _once(self, listener: Any, heartbeat: Callable[[], None]) -> None:
        """One turn: heartbeat, deployment and the full check when each is due, then wait for notifications
        until the next of them."""
        deps = self.service.deps()
        now = deps.clock.monotonic()
        self._ensure_responders(deps)
        if now >= self._next_beat:
            self._next_beat = now + (self.heartbeat if self._step(heartbeat) else RETRY_SECONDS)
        if now >= self._next_check:
            duties = (partial(_heal_orders, deps), partial(sync_webroot_tokens, deps, self._written, self.log))
            ok = all([self._step(duty) for duty in duties])  # a list: every duty runs even after a failure
            self._next_check = now + (self.check if ok else RETRY_SECONDS)
            self._next_deploy = min(self._next_deploy, now)  # the fallback look at current versions
        if self._queue.recheck:
            self._queue.recheck = False
            self._next_deploy = min(self._next_deploy, now + RECHECK_SECONDS)
        if now >= self._next_deploy:
            self._next_deploy = now + self._deploy(deps)
        soonest = min(self._next_beat, self._next_check, self._next_deploy, now + 1.0)
        wait = max(0.05, soonest - deps.clock.monotonic())
        self._on_notes(deps, self._listen(listener, wait))

    def _deploy(self, deps: Deps) -> float:
        """Deploy what this host does not serve yet; seconds until the next look of its own (a notification
        makes it sooner)."""
        try:
            done = deploy_current(deps, self.log)
        except ZtError as exc:
            self._note_down(exc)
            return RETRY_SECONDS
        self._note_up()
        if done.failed:
            return RETRY_SECONDS
        return RECHECK_SECONDS if done.waiting else self.check

    def _on_notes(self, deps: Deps, notes: list[tuple[str, str]]) -> None:
        """A new current version somewhere: deploy the certificate it names now. A token presented or
        withdrawn: sync web roots. A renewal state changed by a command (a `revoke`): wake the scheduler."""
        from ..storage.postgres import CHANGED_CHANNEL, CURRENT_CHANNEL, TOKENS_CHANNEL

        channels = {channel for channel, _ in notes}
        named = [payload for channel, payload in notes if channel == CURRENT_CHANNEL and payload]
        self._queue.submit(deps, named)
        if CURRENT_CHANNEL in channels and len(named) < len([c for c, _ in notes if c == CURRENT_CHANNEL]):
            self._next_deploy = 0.0  # a notification without a name: look at everything
        if TOKENS_CHANNEL in channels:
            self._step(partial(sync_webroot_tokens, deps, self._written, self.log))
        if CHANGED_CHANNEL in channels and self.wake is not None:
            self.wake()

    def _listen(self, listener: Any, timeout: float) -> list[tuple[str, str]]:
        """Notifications within ``timeout``; none (after a pause) while the database is away."""
        try:
            notes = list(listener.wait(timeout))
        except ZtError as exc:
            self._note_down(exc)
            self._relisten = True
            self._stop.wait(min(timeout, RETRY_SECONDS))
            return []
        if self._relisten:  # listening again: what was notified meanwhile is found by a check now
            self._relisten, self._next_check = False, 0.0  # (the check also deploys)
        return notes

    def _step(self, action: Callable[[], object]) -> bool:
        """Run one duty; a failure is logged once per outage, never raised."""
        try:
            action()
        except ZtError as exc:
            self._note_down(exc)
            return False
        self._note_up()
        return True

    def _note_up(self) -> None:
        if self._down:
            self._down = False
            self.log("fleet: the database answers again")

    def _note_down(self, exc: ZtError) -> None:
        if not self._down:
            self._down = True
            self.log(f"fleet: {exc.message}")

    def _ensure_responders(self, deps: Deps) -> None:
        """Listen on every (address, port) a built-in-responder certificate of this host uses."""
        wanted = {(s.http_bind, s.http_port) for s in deps.settings.certificates.values() if not s.webroot}
        for key in sorted(wanted - set(self._responders)):
            responder = SharedResponder(key[1], key[0], lookup=deps.challenges.token)
            try:
                responder.start()
            except ZtError as exc:
                if key not in self._refused:  # said once; tried again every loop
                    self._refused.add(key)
                    self.log(f"fleet: http-01 responder: {exc.message}")
                continue
            self._refused.discard(key)
            self._responders[key] = responder
