"""Sending notifications through apprise (mailto://, json://, Slack, ntfy, Gotify, ... about 100 services).

Each URL is sent to on its own, so one failing target is reported by itself and never stops the others.
URLs carry credentials: they are only ever shown through ``mask``.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit

from ..core.errors import UsageError

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_HOSTLIKE = re.compile(r"(localhost|[0-9.]+|\[[0-9a-fA-F:]+\]|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)(:\d+)?")


def _quiet_apprise() -> None:
    # apprise logs each failure with the target's address; we report failures ourselves, masked.
    logger = logging.getLogger("apprise")
    logger.addHandler(logging.NullHandler())
    logger.propagate = False


def mask(url: str) -> str:
    """``scheme://host/***``: the host only when it looks like one (Slack's "host" is a token), no user,
    password, path or query."""
    try:
        parts = urlsplit(url.strip())
        host = parts.netloc.rsplit("@", 1)[-1]
    except ValueError:
        return "(unreadable URL)"
    shown = host if _HOSTLIKE.fullmatch(host) else "***"
    rest = "/***" if (parts.path.strip("/") or parts.query or "@" in parts.netloc or shown == "***") else ""
    return f"{parts.scheme or '?'}://{shown}{rest}"


def check_url(url: str) -> str:
    """``url`` when apprise can use it; UsageError (naming only the masked URL) otherwise."""
    import apprise

    _quiet_apprise()
    url = url.strip()
    if _CONTROL.search(url):  # saved, it would reach every target's request and any log that shows it
        raise UsageError(f"{mask(url)}: the notification URL holds a control character (such as an escape"
                         " sequence): percent-encode it (%1B for escape), or type the URL again")
    if not url or apprise.Apprise.instantiate(url) is None:
        raise UsageError(f"{mask(url)} is not a notification URL apprise knows: see "
                         "https://github.com/caronc/apprise/wiki for the forms (json://, mailto://, ntfy://, ...)")
    return url


def send(urls: list[str], title: str, body: str, kind: str = "info") -> list[str]:
    """Send to every URL; return one line per target that failed (masked), [] when all succeeded."""
    import apprise

    _quiet_apprise()
    failed = []
    for url in urls:
        target = apprise.Apprise()
        try:
            # Plain text: apprise then escapes it for HTML and Markdown targets (shown literally there).
            ok = target.add(url) and target.notify(body=body, title=title, notify_type=_type(kind),
                                                   body_format=apprise.NotifyFormat.TEXT)
        except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop a renewal
            failed.append(f"{mask(url)}: {type(exc).__name__}")
            continue
        if not ok:
            failed.append(f"{mask(url)}: not delivered")
    return failed


def _type(kind: str) -> str:
    import apprise

    return {"failure": apprise.NotifyType.FAILURE, "warning": apprise.NotifyType.WARNING,
            "success": apprise.NotifyType.SUCCESS}.get(kind, apprise.NotifyType.INFO)
