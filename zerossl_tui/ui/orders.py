"""The body of an order worker, and how its outcome is told: plain functions, no Textual."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..core.errors import Cancelled, ZtError
from ..core.models import CertInfo
from .board import Job

if TYPE_CHECKING:
    from ..service.service import CertificateService, Progress


def run_job(service: CertificateService, job: Job, progress: Progress) -> CertInfo | None:
    """Run one order: forced issue, or renew only if still due. None when it was no longer due."""
    if job.cancel.is_set():
        raise Cancelled(f"{job.name}: cancelled before it started")
    if job.force:
        return service.issue(job.name, progress=progress, cancel=job.cancel)
    results = service.renew([job.name], progress=progress, cancel=job.cancel)
    for _name, info, error in results:
        if error is not None:
            raise error
        return info
    return None


def success_text(name: str, info: CertInfo | None) -> str:
    """What a finished order says in its notification."""
    if info is None:
        return f"{name}: not due any more (another process may have renewed it)"
    return f"{name}: issued serial {info.serial}, valid until {info.not_after:%Y-%m-%d %H:%M} UTC"


def error_parts(error: BaseException | None) -> tuple[str, str, str]:
    """(title, message, severity) for a failed worker: a ZtError is shown as is."""
    if isinstance(error, Cancelled):
        return error.title, error.message, "warning"
    if isinstance(error, ZtError):
        return error.title, error.message, "error"
    return "Unexpected error", f"{type(error).__name__}: {error}", "error"


def named(name: str, message: str) -> str:
    """``message``, led by the certificate's name when it does not already start with it."""
    return f"{name}: {message}" if name and not message.startswith(name) else message
