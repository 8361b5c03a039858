"""lego's store (``--path``, default ``~/.lego``): ``certificates/DOMAIN.{crt,key,issuer.crt,json}`` and
``accounts/HOST_PORT/EMAIL/{account.json,keys/EMAIL.key}``.

lego keeps neither the CA's directory URL (only its host) nor how it solved challenges nor its hooks (they
are command-line flags of its cron line): those become notes, and the CA is found by host.
"""

from __future__ import annotations

import re
from pathlib import Path

from ...core.imported import ForeignAccount, ForeignCert, ForeignStore
from .common import DNS_HINT, NO_ACCOUNT, Unreadable, entry_name, host_of, pair, read, read_json

STOP_HINT = ("stop lego renewing them: remove the `lego ... renew` line from the crontab (`crontab -e`) or "
             "disable the systemd timer that runs it; its files were not changed")
CHALLENGE_NOTE = ("lego does not record how it solved challenges: the built-in responder on port 80 is "
                  "used; set --webroot or --http-port with `edit` if that is wrong")
WILDCARD_NOTE = f"lego does not record how it solved challenges, and a wildcard needs dns-01: {DNS_HINT}"
HOOK_NOTE = "lego keeps hooks on its command line (--renew-hook): add the reload command with `edit --deploy-hook`"


def read_store(path: Path) -> ForeignStore:
    """Every certificate under ``path/certificates``; Unreadable when it is not a lego folder."""
    folder = path / "certificates"
    if not folder.is_dir():
        raise Unreadable(f"{path} is not a lego folder (no certificates/ in it); give --path")
    accounts = _accounts(path / "accounts")
    certs, refused = [], []
    for meta in sorted(folder.glob("*.json")):
        stem = meta.name[: -len(".json")]
        try:
            certs.append(_certificate(folder, stem, accounts))
        except Unreadable as exc:
            refused.append((entry_name(stem), str(exc)))
    return ForeignStore("lego", str(path), tuple(certs), tuple(refused), (), STOP_HINT)


def _certificate(folder: Path, stem: str, accounts: dict[str, list[ForeignAccount]]) -> ForeignCert:
    crt, key, issuer = (folder / f"{stem}.crt", folder / f"{stem}.key", folder / f"{stem}.issuer.crt")
    bits = pair(read(key), read(crt))
    host = host_of(str(read_json(folder / f"{stem}.json").get("certUrl", "")))
    wildcard = any(d.startswith("*.") for d in bits["domains"])
    notes = [WILDCARD_NOTE if wildcard else CHALLENGE_NOTE, HOOK_NOTE]
    found = accounts.get(host, [])
    if len(found) != 1:
        why = "none was found" if not found else f"{len(found)} were found ({', '.join(a.email for a in found)})"
        notes.append(f"lego's account for {host or 'its CA'} not chosen ({why}): {NO_ACCOUNT}")
    return ForeignCert(
        name=entry_name(stem), server_host=host, account=found[0] if len(found) == 1 else None,
        certfile=str(crt), keyfile=str(key), chainfile=str(issuer) if issuer.exists() else "",
        source=str(folder / f"{stem}.json"), notes=tuple(notes), dns_challenge=wildcard, **bits,
    )


def _accounts(folder: Path) -> dict[str, list[ForeignAccount]]:
    """Accounts by CA host (``localhost:14000``); unreadable ones are left out."""
    out: dict[str, list[ForeignAccount]] = {}
    for account_json in sorted(folder.glob("*/*/account.json")):
        host, email = _host(account_json.parent.parent.name), account_json.parent.name
        try:
            url = str(read_json(account_json).get("registration", {}).get("uri", ""))
            key_pem = read(account_json.parent / "keys" / f"{email}.key")
        except (Unreadable, AttributeError):
            continue
        out.setdefault(host, []).append(ForeignAccount(key_pem, url, "", host, email))
    return out


def _host(folder_name: str) -> str:
    """lego writes ``host:port`` as ``host_port``."""
    return re.sub(r"_(\d{1,5})$", r":\1", folder_name)
