"""Deploy and failure hooks of an order: what each receives in its environment, and in which order they
run (the certificate's own hook, then the global one)."""

from __future__ import annotations

from ..core.errors import ZtError
from ..core.models import CertificateSpec, CertInfo, EventKind, StoredCert
from .deps import Deps
from .hooks import run_hook
from .recorder import Recorder, error_type


def deploy_hook(deps: Deps, spec: CertificateSpec, info: CertInfo, record: Recorder,
                stored: StoredCert | None = None) -> None:
    """Run the deploy hooks after ``info`` was issued and written (``stored``: that version, when the caller
    has it at hand; else it is read again)."""
    stored = stored if stored is not None else deps.store.current(spec.name)
    folder = stored.dir if stored is not None else None
    env = {
        "ZT_NAME": spec.name,
        "ZT_DOMAINS": " ".join(spec.domains),
        "ZT_SERIAL": info.serial,
        "ZT_NOT_AFTER": info.not_after.isoformat(),
        "ZT_CERTFILE": spec.certfile or (str(folder / "fullchain.pem") if folder else ""),
        "ZT_KEYFILE": spec.keyfile or (str(folder / "privkey.pem") if folder else ""),
    }
    _run_hooks(deps, spec, "deploy_hook", env, record)


def failure_hook(deps: Deps, spec: CertificateSpec, exc: ZtError, failures: int, record: Recorder) -> None:
    """Run the failure hooks after a failed attempt."""
    info = deps.current_info(spec.name)
    left = (info.not_after - deps.clock.now()).total_seconds() if info else 0
    env = {
        "ZT_NAME": spec.name,
        "ZT_DOMAINS": " ".join(spec.domains),
        "ZT_ERROR_TYPE": error_type(exc),
        "ZT_ERROR_DETAIL": exc.message,
        "ZT_ATTEMPTS": str(failures),
        "ZT_SECONDS_LEFT": str(int(left)),
    }
    _run_hooks(deps, spec, "failure_hook", env, record)


def _run_hooks(deps: Deps, spec: CertificateSpec, which: str, env: dict[str, str], record: Recorder) -> None:
    """The certificate's own hook, then the global one; a failing hook is journaled and blocks nothing."""
    renewal = deps.settings.renewal
    commands = [getattr(spec, which), getattr(renewal, which)]
    for command in filter(None, commands):
        run_hook(command, env, timeout=renewal.hook_timeout, shell=renewal.hook_shell,
                 log=lambda line: record(EventKind.HOOK, f"{which}: {line}"))
