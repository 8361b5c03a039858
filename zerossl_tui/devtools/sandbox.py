"""`zerossl-tui sandbox`: a local Pebble CA with its own settings and data, so anyone can try everything.

Pebble forgets everything when it stops, so each start rewrites the sandbox provider (new ports, new TLS
trust) while keeping the sandbox's certificates and their history.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

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


def sandbox_home() -> Path:
    """Where the sandbox keeps its settings and data ($ZEROSSL_TUI_SANDBOX or the user data folder)."""
    if os.environ.get("ZEROSSL_TUI_SANDBOX"):
        return Path(os.environ["ZEROSSL_TUI_SANDBOX"])
    import platformdirs

    return Path(platformdirs.user_data_dir("zerossl-tui")) / "sandbox"


class Sandbox:
    """Starts Pebble, writes sandbox settings pointing at it, stops Pebble on exit."""

    def __init__(self, home: Path | None = None, options: PebbleOptions | None = None) -> None:
        self.home = home or sandbox_home()
        self.pebble = PebbleServer(self.home / "pebble", options or PebbleOptions(validity_seconds=3600))
        self.config = self.home / "settings.toml"

    @property
    def directory(self) -> str:
        """The sandbox CA's ACME directory URL."""
        return self.pebble.directory

    def __enter__(self) -> Sandbox:
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o700)
        self.pebble.start()
        self._write_settings()
        return self

    def __exit__(self, *exc: object) -> None:
        self.pebble.stop()

    def service(self) -> CertificateService:
        """A service over the sandbox settings."""
        return CertificateService(str(self.config))

    def _write_settings(self) -> None:
        paths = resolve_paths(str(self.config))
        settings = load_settings(paths) if self.config.exists() else Settings()
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


def _point_at_responder(settings: Settings, port: int) -> Settings:
    """Every sandbox certificate answers http-01 where this Pebble run validates."""
    for spec in list(settings.certificates.values()):
        if spec.provider == PROVIDER and not spec.webroot:
            settings = with_certificate(settings, build_certificate(
                spec.name, list(spec.domains), PROVIDER, spec, http_port=port, http_bind="127.0.0.1"))
    return settings
