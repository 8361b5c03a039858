"""acme.sh's store (``~/.acme.sh``): ``DOMAIN[_ecc]/DOMAIN.conf`` with ``Le_*='...'`` lines, the key and
certificates beside it, and accounts under ``ca/HOST/PATH/{account.key,ca.conf}``.
"""

from __future__ import annotations

import base64
import binascii
import re
from pathlib import Path
from typing import Any

from ...core.imported import ForeignAccount, ForeignCert, ForeignStore
from .common import DNS_HINT, NO_ACCOUNT, Unreadable, entry_name, host_of, pair, port_of, read

STOP_HINT = ("stop acme.sh renewing them: `acme.sh --uninstall-cronjob` (or `acme.sh --remove -d DOMAIN` "
             "for each one); its files were not changed")
DEFAULT_API = "https://acme.zerossl.com/v2/DV90"  # acme.sh's default CA since 3.0
_LINE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)")
_B64 = re.compile(r"__ACME_BASE64__START_(.*)__ACME_BASE64__END_", re.DOTALL)


def read_store(home: Path) -> ForeignStore:
    """Every ``*/DOMAIN.conf`` under ``home``; Unreadable when it is not an acme.sh folder."""
    confs = sorted(p for p in home.glob("*/*.conf") if p.stem == p.parent.name.removesuffix("_ecc") and _ours(p))
    if not home.is_dir() or not (confs or (home / "account.conf").exists()):
        raise Unreadable(f"{home} is not an acme.sh folder (no DOMAIN/DOMAIN.conf in it); give --home")
    certs, refused = [], []
    for conf in confs:
        try:
            certs.append(_certificate(home, conf))
        except Unreadable as exc:
            refused.append((entry_name(conf.stem), str(exc)))
    return ForeignStore("acme.sh", str(home), tuple(certs), tuple(refused), (), STOP_HINT)


def _ours(conf: Path) -> bool:
    """An acme.sh DOMAIN.conf (it always sets Le_Domain), or one that cannot be read (then said so): not
    /etc/fonts/fonts.conf and the other look-alikes of a wrong --home."""
    try:
        return b"Le_Domain=" in read(conf)
    except Unreadable:
        return True


def parse_conf(text: str) -> dict[str, str]:
    """``KEY='value'`` lines, with acme.sh's base64 wrapping undone."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.fullmatch(line)
        if match:
            out[match.group(1)] = _unwrap(match.group(2).strip())
    return out


def _unwrap(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    wrapped = _B64.fullmatch(value)
    if wrapped:
        try:
            return base64.b64decode(wrapped.group(1)).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return value
    return value


def _certificate(home: Path, conf: Path) -> ForeignCert:
    values = parse_conf(read(conf).decode("utf-8", "replace"))
    folder, domain = conf.parent, values.get("Le_Domain") or conf.stem
    bits = pair(read(folder / f"{domain}.key"), read(folder / "fullchain.cer"))
    api = values.get("Le_API") or DEFAULT_API
    notes: list[str] = []
    return ForeignCert(
        name=entry_name(domain), directory=api, server_host=host_of(api),
        account=_account(home, api, notes), deploy_hook=_hooks(values, notes), source=str(conf),
        **_paths(values, folder, domain, notes), **_challenge(values, notes), **bits, notes=tuple(notes),
    )


def _paths(values: dict[str, str], folder: Path, domain: str, notes: list[str]) -> dict[str, Any]:
    """Where the web server reads them: the ``--install-cert`` paths, else acme.sh's own files."""
    key, full = values.get("Le_RealKeyPath", ""), values.get("Le_RealFullChainPath", "")
    cert, chain = values.get("Le_RealCertPath", ""), values.get("Le_RealCACertPath", "")
    if not key:
        return {"keyfile": str(folder / f"{domain}.key"), "certfile": str(folder / "fullchain.cer"),
                "chainfile": str(folder / "ca.cer")}
    if cert and full and cert != full:
        notes.append(f"{cert} (certificate without chain) is no longer updated: point the web server at {full}")
    elif cert and not full:
        notes.append(f"{cert} now receives the certificate followed by its chain (what nginx and Apache "
                     "2.4.8+ expect)")
    return {"keyfile": key, "certfile": full or cert, "chainfile": chain}


def _challenge(values: dict[str, str], notes: list[str]) -> dict[str, Any]:
    mode = values.get("Le_Webroot", "")
    if mode.startswith("/"):
        roots = [r for r in mode.split(",") if r]
        if len(set(roots)) > 1:
            notes.append(f"acme.sh used several web roots: only {roots[0]} is used here")
        return {"webroot": roots[0]}
    if mode == "no":
        return {"http_port": port_of(values.get("Le_HTTPPort") or "80", "acme.sh's Le_HTTPPort")}
    if mode.startswith("dns"):
        notes.append(f"acme.sh's dns mode {mode} is not mapped: {DNS_HINT}")
        return {"dns_challenge": True}
    notes.append(f"acme.sh's mode {mode or '(none)'!r} is not mapped: set --webroot, --http-port or dns-01 with "
                 "`edit` before the next renewal")
    return {}


def _hooks(values: dict[str, str], notes: list[str]) -> str:
    for key in ("Le_PreHook", "Le_PostHook", "Le_RenewHook"):
        if values.get(key):
            notes.append(f"acme.sh's {key} {values[key]!r} is not mapped (only the reload command is)")
    return values.get("Le_ReloadCmd", "")


def ca_dir(home: Path, api: str) -> Path:
    """acme.sh's account folder for a directory URL: ``ca/HOST/PATH``, the port dropped as acme.sh does."""
    rest = re.sub(r"/+", "/", api.split(":", 1)[-1])
    parts = rest.split("/")
    host = (parts[1] if len(parts) > 1 else "").split(":")[0]
    return home / "ca" / host / "/".join(parts[2:])


def _account(home: Path, api: str, notes: list[str]) -> ForeignAccount | None:
    folder = ca_dir(home, api)
    try:
        key_pem = read(folder / "account.key")
        url = parse_conf(read(folder / "ca.conf").decode("utf-8", "replace")).get("ACCOUNT_URL", "")
    except Unreadable as exc:
        notes.append(f"acme.sh account not usable ({exc}): {NO_ACCOUNT}")
        return None
    if not url:
        notes.append(f"{folder / 'ca.conf'} has no ACCOUNT_URL: the account key is used to find the account")
    return ForeignAccount(key_pem=key_pem, url=url, directory=api, server_host=host_of(api))
