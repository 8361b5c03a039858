"""Secrets of the fleet database besides certificate versions: ACME account keys, cached EAB credentials
and the key of an order in progress, each sealed with the fleet key (``crypto.py``)."""

from __future__ import annotations

from ..paths import safe_name
from .crypto import SecretBox
from .db import Database

Pem = str | bytes


class PgSecrets:
    """Accounts, EAB cache and pending order keys (a part of ``PgCertificateStore``)."""

    db: Database
    box: SecretBox

    # -- accounts -----------------------------------------------------------------------------------

    def load_account(self, provider: str, directory: str = "") -> tuple[bytes | None, str]:
        """(account key PEM or None, URL or ""); an account of another directory gives its key, no URL."""
        with self.db.statement() as cur:
            cur.execute("SELECT key_sealed, url, directory FROM accounts WHERE provider = %s", (provider,))
            row = cur.fetchone()
        if row is None:
            return None, ""
        key = self.box.open(row[0], f"account:{provider}")
        url = "" if directory and row[2] not in ("", directory) else str(row[1])
        return key, url

    def save_account(self, provider: str, key_pem: Pem, url: str, directory: str = "") -> None:
        """Keep the account key (sealed) and its URL and directory."""
        safe_name(provider, "provider")
        sealed = self.box.seal(as_bytes(key_pem), f"account:{provider}")
        with self.db.statement() as cur:
            cur.execute("INSERT INTO accounts (provider, key_sealed, url, directory) VALUES (%s, %s, %s, %s)"
                        " ON CONFLICT (provider) DO UPDATE SET key_sealed = excluded.key_sealed,"
                        " url = excluded.url, directory = excluded.directory", (provider, sealed, url, directory))

    def load_eab_cache(self, provider: str) -> tuple[str, str]:
        """(kid, hmac key) fetched earlier, or ("", "")."""
        with self.db.statement() as cur:
            cur.execute("SELECT kid, hmac_sealed FROM eab_cache WHERE provider = %s", (provider,))
            row = cur.fetchone()
        if row is None:
            return "", ""
        hmac_key = self.box.open(row[1], f"eab:{provider}").decode()
        return (str(row[0]), hmac_key) if row[0] and hmac_key else ("", "")

    def save_eab_cache(self, provider: str, kid: str, hmac_key: str) -> None:
        """Cache EAB credentials (the HMAC key sealed)."""
        safe_name(provider, "provider")
        sealed = self.box.seal(hmac_key.encode(), f"eab:{provider}")
        with self.db.statement() as cur:
            cur.execute("INSERT INTO eab_cache (provider, kid, hmac_sealed) VALUES (%s, %s, %s) ON CONFLICT"
                        " (provider) DO UPDATE SET kid = excluded.kid, hmac_sealed = excluded.hmac_sealed",
                        (provider, kid, sealed))

    def save_pending_key(self, name: str, key_pem: Pem) -> None:
        """Keep (sealed) the key of an order in progress, so any host can resume that order."""
        sealed = self.box.seal(as_bytes(key_pem), f"pending:{name}")
        with self.db.statement() as cur:
            cur.execute("INSERT INTO pending_keys (cert, key_sealed) VALUES (%s, %s) ON CONFLICT (cert)"
                        " DO UPDATE SET key_sealed = excluded.key_sealed", (name, sealed))

    def pending_key(self, name: str) -> bytes | None:
        """The key of the order in progress, if any."""
        with self.db.statement() as cur:
            cur.execute("SELECT key_sealed FROM pending_keys WHERE cert = %s", (name,))
            row = cur.fetchone()
        return self.box.open(row[0], f"pending:{name}") if row else None

    def clear_pending_key(self, name: str) -> None:
        """Forget the key of the order in progress."""
        with self.db.statement() as cur:
            cur.execute("DELETE FROM pending_keys WHERE cert = %s", (name,))




def as_bytes(pem: Pem) -> bytes:
    """A PEM given as text or bytes, as bytes."""
    return pem.encode() if isinstance(pem, str) else bytes(pem)
