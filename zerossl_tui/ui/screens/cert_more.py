"""The certificate form's settings beyond names and challenge: hooks, what to verify, the chain and profile
to ask for, the key's reuse and the extra files. The same keys as settings.toml and the `add`/`edit`
options, checked by the same ``core.validate`` functions, so that a value refused on the command line is
refused here in the same words (escape sequences, 100 kB pastes, a malformed HOST:PORT).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.dom import DOMNode
from textual.widgets import Checkbox, Input, Label

from ...core.errors import UsageError
from ...core.models import CertificateSpec
from ...core.settings import CERTIFICATE_FIELDS
from ...core.validate import check_account, check_endpoints, check_line, check_path, check_text

DOCS = {f.key: f.doc for f in CERTIFICATE_FIELDS}


@dataclass(frozen=True)
class More:
    """One text field: its settings key, label and placeholder."""

    key: str
    label: str
    placeholder: str


MORE = (
    More("deploy_hook", "Deploy hook", "(optional) systemctl reload nginx"),
    More("failure_hook", "Failure hook", "(optional) a command run after a failed attempt"),
    More("verify", "Verify", "(optional) HOST:PORT, ...  checks what is served"),
    More("preferred_chain", "Prefer chain", "(optional) root's name, such as ISRG Root X1"),
    More("profile", "ACME profile", "(optional) such as shortlived, when the CA offers it"),
    More("required_profile", "Need profile", "(optional) refuse the order without this profile"),
    More("fullchain", "Fullchain", "(optional) /etc/ssl/site/fullchain.pem"),
    More("chainfile", "Chain file", "(optional) /etc/ssl/site/chain.pem"),
    More("owner", "Files' owner", "(optional) user owning the served files"),
    More("group", "Files' group", "(optional) group of the served files: key 0640"),
)
MORE_KEYS = tuple(field.key for field in MORE)
LABELS = {field.key: field.label for field in MORE} | {"reuse_key": "Reuse key"}
PATHS = ("fullchain", "chainfile")


def shown_value(spec: CertificateSpec | None, key: str) -> str:
    """What a field shows when the form opens: the saved value (endpoints joined with ", ")."""
    if spec is None:
        return ""
    value = getattr(spec, key)
    return ", ".join(value) if key == "verify" else str(value)


def more_rows(spec: CertificateSpec | None) -> ComposeResult:
    """A labelled row per setting, then the Reuse key checkbox."""
    for field in MORE:
        widget = Input(shown_value(spec, field.key), placeholder=field.placeholder, id=field.key,
                       tooltip=DOCS[field.key])
        yield Horizontal(Label(field.label), widget, classes="row", id=f"row-{field.key}")
    reuse = Checkbox("Reuse the private key on renewal", value=bool(spec and spec.reuse_key), id="reuse_key",
                     tooltip=DOCS["reuse_key"])
    yield Horizontal(Label(""), reuse, classes="row", id="row-reuse_key")


def split_endpoints(text: str) -> list[str]:
    """Endpoints typed with commas and/or spaces between them."""
    return [part for part in re.split(r"[\s,]+", text) if part]


def more_values(form: DOMNode) -> dict[str, Any]:
    """The settings as typed, ready for ``add_certificate``/``edit_certificate`` (empty clears a value)."""
    values: dict[str, Any] = {key: form.query_one(f"#{key}", Input).value.strip() for key in MORE_KEYS}
    values["verify"] = split_endpoints(values["verify"])
    values["reuse_key"] = form.query_one("#reuse_key", Checkbox).value
    return values


def more_checks(values: dict[str, Any]) -> list[tuple[str, Any]]:
    """(field id, check) per setting, with the checks `add`/`edit` apply."""
    checks: list[tuple[str, Any]] = [("verify", lambda: check_endpoints(values["verify"]))]
    for key in MORE_KEYS:
        if key in PATHS:
            checks.append((key, lambda key=key: _check_file(key, values[key])))
        elif key in ("owner", "group"):
            checks.append((key, lambda key=key: check_account(key, check_line(key, values[key]))))
        elif key != "verify":
            checks.append((key, lambda key=key: check_line(key, values[key])))
    return checks


def _check_file(key: str, value: str) -> None:
    """A path as `add --fullchain F` takes it, the problem named as `add` names it."""
    check_text(key, value)
    try:
        check_path(value, os.getcwd())
    except UsageError as exc:
        raise UsageError(f"{key}: {exc.message}") from None
