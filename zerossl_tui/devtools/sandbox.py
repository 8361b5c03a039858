"""`zerossl-tui sandbox`: a local Pebble CA with its own settings and data, so anyone can try everything.

Pebble forgets everything when it stops, so each start rewrites the sandbox provider (new ports, new TLS
trust) while keeping the sandbox's certificates and their history.

However the sandbox ends (the dashboard's `q`, Ctrl-C, SIGTERM, SIGHUP, an error) it stops the Pebble it
started; if it is SIGKILLed, the kernel kills Pebble with it (see ``pebble.die_with_parent``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

from ..core.errors import UsageError
from ..core.models import CertificateSpec
from ..core.settings import Settings, with_certificate, with_provider
from ..core.validate import build_certificate, build_provider
from ..service.service import CertificateService
from ..storage.paths import resolve_paths
from ..storage.settings_file import load_settings, save_settings
from .pebble import PebbleOptions, PebbleServer

PROVIDER = "sandbox"
EXAMPLES = {
    "shop": ["shop.sandbox.test", "www.shop.sandbox.test"],
    "blog": ["blog.sandbox.test"],
    "api": ["api.sandbox.test", "api-v2.sandbox.test", "status.sandbox.test"],
}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def sandbox_home() -> Path:
    """Where the sandbox keeps its settings and data ($ZEROSSL_TUI_SANDBOX or the user data folder)."""
    if os.environ.get("ZEROSSL_TUI_SANDBOX"):
        return Path(os.environ["ZEROSSL_TUI_SANDBOX"])
    import platformdirs

    return Path(platformdirs.user_data_dir("zerossl-tui")) / "sandbox"


class Stopped(Exception):
    """A signal asked the sandbox to stop: its normal end."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


class Sandbox:
    """Starts Pebble, writes sandbox settings pointing at it, stops Pebble on exit.

    With ``config`` (`--config FILE`) the settings are that file and Pebble's files and the data folder
    live beside it; otherwise all three live in ``home`` (default: ``sandbox_home()``).
    """

    def __init__(self, home: Path | None = None, options: PebbleOptions | None = None,
                 config: str | Path | None = None) -> None:
        self.given_config = bool(config)
        self.config = Path(config).expanduser().absolute() if config else (home or sandbox_home()) / "settings.toml"
        self.home = self.config.parent
        self.pebble = PebbleServer(self.home / "pebble", options or PebbleOptions(validity_seconds=3600))

    @property
    def directory(self) -> str:
        """The sandbox CA's ACME directory URL."""
        return self.pebble.directory

    def __enter__(self) -> Sandbox:
        if not self.home.exists():  # a folder the sandbox did not make keeps its mode
            self.home.mkdir(parents=True, mode=0o700)
            os.chmod(self.home, 0o700)
        self.pebble.start()
        try:
            self._write_settings()
        except BaseException:  # __exit__ does not run when __enter__ fails
            self._stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop()

    def service(self) -> CertificateService:
        """A service over the sandbox settings, whose new or edited sandbox certificates answer http-01 where
        this Pebble validates (the add form fills in port 80, where nothing of Pebble's ever looks)."""
        return SandboxService(str(self.config), responder_port=self.pebble.http_port)

    def _stop(self) -> None:
        """Stop Pebble with the stop signals held back, so that a second Ctrl-C or a SIGTERM cannot cut the
        clean-up short; they are handled right after it."""
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.pebble.stop()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)

    def _write_settings(self) -> None:
        paths = resolve_paths(str(self.config))
        settings = load_settings(paths) if self.config.exists() else Settings()
        if self.given_config:
            _refuse_real_settings(settings, self.config)
        provider = build_provider(PROVIDER, directory=self.pebble.directory,
                                  ca_bundle=str(self.pebble.ca_bundle), email="sandbox@example.com")
        settings = with_provider(settings, provider)
        general = replace(settings.general, data_dir=str(self.home / "data"), default_provider=PROVIDER)
        settings = replace(settings, general=general)
        for name, domains in EXAMPLES.items():
            if name not in settings.certificates:
                settings = with_certificate(settings, build_certificate(name, domains, PROVIDER))
        settings = _point_at_responder(settings, self.pebble.http_port)
        save_settings(paths, settings)


class SandboxService(CertificateService):
    """The sandbox's service: ``add_certificate`` (and so ``edit_certificate``) points a sandbox certificate
    without a web root at this run's responder port, as ``_point_at_responder`` does at each start."""

    def __init__(self, config: str, *, responder_port: int) -> None:
        super().__init__(config)
        self.responder_port = responder_port

    def add_certificate(self, name: str, domains: Any, provider: str | None = None, *,
                        replace_existing: bool = False, **options: Any) -> CertificateSpec:
        """``CertificateService.add_certificate``, with the sandbox's port and loopback address."""
        base = self.settings.certificates.get(name)
        chosen = provider or (base.provider if base else self.settings.default_provider())
        webroot = options.get("webroot", base.webroot if base else "")
        if chosen == PROVIDER and not webroot:
            options.update(http_port=self.responder_port, http_bind="127.0.0.1")
        return super().add_certificate(name, domains, provider, replace_existing=replace_existing, **options)


def _refuse_real_settings(settings: Settings, config: Path) -> None:
    """A settings file that uses another CA is someone's real one: the sandbox would take it over."""
    used = {*settings.providers, *(spec.provider for spec in settings.certificates.values()),
            settings.general.default_provider or PROVIDER}
    others = sorted(used - {PROVIDER, ""})
    if others:
        raise UsageError(f"{config} uses provider {others[0]!r}, so it is not a sandbox's settings file: "
                         "give the sandbox a new file of its own with --config")


def _point_at_responder(settings: Settings, port: int) -> Settings:
    """Every sandbox certificate answers http-01 where this Pebble run validates."""
    for spec in list(settings.certificates.values()):
        if spec.provider == PROVIDER and not spec.webroot:
            settings = with_certificate(settings, build_certificate(
                spec.name, list(spec.domains), PROVIDER, spec, http_port=port, http_bind="127.0.0.1"))
    return settings


class StopSignals:
    """While inside: SIGINT, SIGTERM and SIGHUP end the sandbox. With an event loop running (the dashboard)
    they call ``on_stop`` in it, so the app quits as with `q`; otherwise they raise Stopped. The previous
    handlers come back on exit. Outside the main thread (no signals there) it does nothing."""

    def __init__(self) -> None:
        self.on_stop: Callable[[], object] | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            self._previous = {sig: signal.signal(sig, self._handle) for sig in STOP_SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]  # what signal.signal gave back

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.on_stop is not None:
            try:
                asyncio.get_running_loop().call_soon_threadsafe(self.on_stop)
                return
            except RuntimeError:  # no loop running (not yet, or not any more)
                pass
        raise Stopped(signum)


def run_sandbox(config: str | None, ui: bool, say: Callable[[str], object]) -> int:
    """`zerossl-tui sandbox [--no-ui] [--config FILE]` until the dashboard quits or a stop signal comes."""
    try:
        with StopSignals() as signals, Sandbox(config=config) as sandbox:
            return _dashboard(sandbox, signals) if ui else _wait_for_a_signal(sandbox, say)
    except Stopped as stop:
        say(f"sandbox stopped ({stop.signal_name})")
        return 0


def _wait_for_a_signal(sandbox: Sandbox, say: Callable[[str], object]) -> int:
    # Pebble validates http-01 on its own port: a certificate added from another terminal must answer there.
    add = f"add certificates with --http-port {sandbox.pebble.http_port} --http-bind 127.0.0.1 (where it validates)"
    for line in (f"sandbox CA: {sandbox.directory}", f"settings: {sandbox.config}", add, "press Ctrl-C to stop"):
        say(line)
    while True:
        signal.pause()  # StopSignals raises Stopped out of it


def _dashboard(sandbox: Sandbox, signals: StopSignals) -> int:
    from ..ui.app import make_app

    app = make_app(sandbox.service(), title="zerossl-tui sandbox")
    signals.on_stop = app.exit
    app.run()
    return app.return_code or 0
