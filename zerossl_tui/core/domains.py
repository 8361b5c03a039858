"""Validation of domain names: the one set of rules that the CLI, the dashboard form and settings share."""

from __future__ import annotations

import re
from collections.abc import Iterable

from .errors import UsageError

MAX_NAMES = 100
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_OTHER_DOTS = re.compile("[\u3002\uff0e\uff61]")  # ideographic and full-width full stops separate labels too
_NAME_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def to_ascii(name: str) -> str:
    """Lower-case ``name`` and turn an internationalised name into punycode (IDNA 2003 via the stdlib)."""
    text = _OTHER_DOTS.sub(".", name.strip().lower()).rstrip(".")
    if not text:
        raise UsageError("empty domain name: give a name such as example.com")
    if any(ch.isspace() for ch in text):
        raise UsageError(f"domain {name!r} contains a space: give one name per -d option")
    if text.isascii():
        return text
    try:
        return ".".join(_label_to_ascii(label, name) for label in text.split("."))
    except UnicodeError as exc:
        raise UsageError(f"domain {name!r} is not a valid internationalised name ({exc})") from None


def _label_to_ascii(label: str, whole: str) -> str:
    from encodings import idna  # nameprep (RFC 3491) + punycode: what IDNA 2003's ToASCII does

    if label.isascii():
        return label
    if not label:
        raise UsageError(f"domain {whole!r} has an empty label (two dots in a row)")
    return idna.ToASCII(label).decode("ascii").lower()


def validate_name(name: str, *, allow_wildcard: bool = False) -> str:
    """Return the normalised ASCII form of one domain name, or raise UsageError saying what is wrong."""
    ascii_name = to_ascii(name)
    labels = ascii_name.split(".")
    if labels[0] == "*":
        if not allow_wildcard:
            raise UsageError(
                f"wildcard {name!r} needs a dns-01 challenge, which this tool does not solve; "
                "http-01 can only prove single names: list each name instead"
            )
        labels = labels[1:]
    if len(ascii_name) > 253:
        raise UsageError(f"domain {name!r} is longer than 253 characters")
    if len(labels) < 2:
        raise UsageError(f"domain {name!r} needs at least two labels, such as example.com")
    for label in labels:
        _check_label(label, name)
    return ascii_name


def _check_label(label: str, whole: str) -> None:
    if not label:
        raise UsageError(f"domain {whole!r} has an empty label (two dots in a row, or a leading dot)")
    if len(label) > 63:
        raise UsageError(f"domain {whole!r} has a label longer than 63 characters")
    if label.startswith("-") or label.endswith("-"):
        raise UsageError(f"domain {whole!r} has a label that starts or ends with a hyphen")
    if not _LABEL.match(label):
        raise UsageError(
            f"domain {whole!r} has invalid characters: use letters, digits and hyphens only"
        )


def normalize_domains(names: Iterable[str], *, allow_wildcard: bool = False) -> tuple[str, ...]:
    """Validate, lower-case, punycode and de-duplicate ``names``, keeping their order."""
    seen: dict[str, None] = {}
    for name in names:
        seen[validate_name(name, allow_wildcard=allow_wildcard)] = None
    if not seen:
        raise UsageError("no domain names given: add at least one with -d NAME")
    if len(seen) > MAX_NAMES:
        raise UsageError(f"{len(seen)} names given; a certificate can hold at most {MAX_NAMES}")
    return tuple(seen)


def validate_entry_name(name: str, what: str = "certificate") -> str:
    """Names of certificates and providers: a folder name, so letters, digits, '.', '_' and '-'."""
    if not _NAME_NAME.match(name or "") or name in (".", ".."):
        raise UsageError(
            f"invalid {what} name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
