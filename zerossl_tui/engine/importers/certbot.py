"""certbot's store (``/etc/letsencrypt``): ``renewal/NAME.conf``, ``live/NAME/*.pem``, ``accounts/...``.

Read only. The served files are certbot's ``live/NAME`` paths named in the renewal file, so the web server
keeps reading what it reads today (see ``service/imports.py`` for what happens to those symlinks).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...core.imported import ForeignAccount, ForeignCert, ForeignStore
from .common import DNS_HINT, NO_ACCOUNT, Unreadable, entry_name, host_of, pair, port_of, read, read_json

STOP_HINT = ("stop certbot renewing them: `systemctl disable --now certbot.timer` (and remove the `certbot "
             "renew` line of /etc/cron.d/certbot if you have one); its files were not changed")
_HOOKS = ("pre_hook", "post_hook", "renew_hook", "deploy_hook")
DEFAULT_SERVER = "https://acme-v02.api.letsencrypt.org/directory"  # certbot's default when none is recorded


def read_store(config_dir: Path) -> ForeignStore:
    """Every lineage under ``config_dir/renewal``; Unreadable when the folder is not a certbot store."""
    renewal = config_dir / "renewal"
    if not renewal.is_dir():
        raise Unreadable(f"{config_dir} is not a certbot config folder (no renewal/ in it); give --config-dir")
    certs, refused = [], []
    for conf in sorted(renewal.glob("*.conf")):
        try:
            certs.append(_lineage(config_dir, conf))
        except Unreadable as exc:
            refused.append((conf.stem, str(exc)))
    return ForeignStore("certbot", str(config_dir), tuple(certs), tuple(refused), _store_notes(config_dir),
                        STOP_HINT)


def parse_conf(text: str) -> dict[str, dict[str, str]]:
    """certbot's renewal file (configobj): ``{"": top keys, "renewalparams": ..., "webroot_map": ...}``."""
    out: dict[str, dict[str, str]] = {"": {}}
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            out.setdefault(section, {})
        elif "=" in line:
            key, value = line.split("=", 1)
            out[section][key.strip()] = value.strip()
    return out


def _lineage(config_dir: Path, conf: Path) -> ForeignCert:
    parsed = parse_conf(read(conf).decode("utf-8", "replace"))
    top, params = parsed[""], parsed.get("renewalparams", {})
    keyfile, fullchain = top.get("privkey", ""), top.get("fullchain", "")
    if not keyfile or not fullchain:
        raise Unreadable(f"{conf} names no privkey or fullchain file")
    bits = pair(read(Path(keyfile)), read(Path(fullchain)))
    server = params.get("server") or DEFAULT_SERVER
    notes: list[str] = [f"{top.get('cert', 'cert.pem')} (certificate without chain) is no longer updated: "
                        "point the web server at fullchain.pem"] if top.get("cert") else []
    challenge = _challenge(params, parsed.get("webroot_map", {}), bits["domains"], notes)
    return ForeignCert(
        name=entry_name(conf.stem), directory=server, server_host=host_of(server),
        account=_account(config_dir, server, params.get("account", ""), notes),
        certfile=fullchain, keyfile=keyfile, chainfile=top.get("chain", ""),
        deploy_hook=_hooks(params, notes), reuse_key=params.get("reuse_key", "").lower() == "true",
        source=str(conf), notes=tuple(notes), **challenge, **bits,
    )


def _challenge(params: dict[str, str], webroot_map: dict[str, str], domains: tuple[str, ...],
               notes: list[str]) -> dict[str, Any]:
    """webroot or standalone settings; a note for every other authenticator (dns plugins, nginx, ...)."""
    authenticator = params.get("authenticator", "")
    if authenticator == "webroot":
        roots = [r for r in (webroot_map.get(d, "") for d in domains) if r] or \
            [r.strip() for r in params.get("webroot_path", "").split(",") if r.strip()]
        if len(set(roots)) > 1:
            notes.append(f"certbot used several web roots ({', '.join(sorted(set(roots)))}): only "
                         f"{roots[0]} is used here; check that it serves every name")
        return {"webroot": roots[0]} if roots else {}
    if authenticator == "standalone":
        return {"http_port": port_of(params.get("http01_port", "") or "80", "certbot's http01_port")}
    if authenticator.startswith("dns"):
        notes.append(f"certbot's dns plugin {authenticator} is not mapped: {DNS_HINT}")
        return {"dns_challenge": True}
    notes.append(f"certbot's authenticator {authenticator!r} is not mapped: set --webroot, --http-port or dns-01 "
                 "with `edit` before the next renewal")
    return {}


def _hooks(params: dict[str, str], notes: list[str]) -> str:
    """certbot's deploy (renew) hook becomes ours; its post hook too when there is no deploy hook."""
    hooks = {k: params[k] for k in _HOOKS if params.get(k)}
    chosen = hooks.get("deploy_hook") or hooks.get("renew_hook") or hooks.get("post_hook", "")
    for key, command in hooks.items():
        if command != chosen:
            notes.append(f"certbot's {key} {command!r} is not mapped (only one deploy hook is)")
    if chosen and chosen == hooks.get("post_hook") and chosen not in (hooks.get("deploy_hook"),
                                                                     hooks.get("renew_hook")):
        notes.append(f"certbot's post_hook {chosen!r} now runs only after a successful renewal")
    return chosen


def _account(config_dir: Path, server: str, account_id: str, notes: list[str]) -> ForeignAccount | None:
    parts = urlsplit(server)
    folder = config_dir / "accounts" / parts.netloc / parts.path.strip("/") / account_id
    if not account_id or not folder.is_dir():
        notes.append(f"certbot account {account_id or '(none named)'} not found under {folder.parent}: "
                     f"{NO_ACCOUNT} (ARI replaces cannot continue)")
        return None
    try:
        key_pem = _jwk_to_pem(read(folder / "private_key.json"))
        url = str(read_json(folder / "regr.json").get("uri", ""))
    except Unreadable as exc:
        notes.append(f"certbot account {account_id} unreadable ({exc}): {NO_ACCOUNT}")
        return None
    return ForeignAccount(key_pem=key_pem, url=url, directory=server, server_host=parts.netloc)


def _jwk_to_pem(data: bytes) -> bytes:
    import josepy as jose
    from cryptography.hazmat.primitives import serialization

    try:
        key = jose.JWK.json_loads(data).key
    except (jose.errors.Error, ValueError, TypeError) as exc:
        raise Unreadable(f"account key is not a JWK ({exc})") from None
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def _store_notes(config_dir: Path) -> tuple[str, ...]:
    hooks = sorted(p for p in (config_dir / "renewal-hooks").glob("*/*") if p.is_file())
    return tuple(f"certbot renewal hook script {p} is not mapped: name it as a deploy hook with `edit`"
                 for p in hooks)
