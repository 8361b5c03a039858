"""Saving the notification URLs (apprise), kept as secrets in ``[notify] urls`` of the secrets file
(``settings_file.load_notify_urls`` reads them)."""

from __future__ import annotations

from typing import Any

from .fsutil import atomic_write, ensure_dir
from .paths import Paths
from .settings_file import (
    SECRET_MODE,
    STORAGE_SECRET,
    _utf8,
    load_all_secrets,
    load_storage_password,
)


def save_notify_urls(paths: Paths, urls: list[str]) -> None:
    """Rewrite the secrets file (0600) with ``urls``; provider and DNS provider secrets in it are kept."""
    import tomli_w

    kept = load_all_secrets(paths.secrets_file)
    doc: dict[str, Any] = {"providers": kept.get("providers", {})}
    if kept.get("dns"):
        doc["dns"] = kept["dns"]
    if urls:
        doc["notify"] = {"urls": list(urls)}
    password = load_storage_password(paths.secrets_file)  # kept: only `storage use` changes it
    if password:
        doc["storage"] = {STORAGE_SECRET: password}
    ensure_dir(paths.secrets_file.parent, 0o700, strict=False)
    atomic_write(paths.secrets_file, _utf8(tomli_w.dumps(doc), paths), SECRET_MODE)
