"""Secrets at rest in the fleet database: AES-256-GCM under a 32-byte key kept in a file beside settings.

The key file holds the key in base64 on one line; it is 0600 and the same on every host of the fleet
(copy it). Each sealed value is ``version byte || 12-byte random nonce || ciphertext+tag``, with the row it
belongs to (``version:NAME:VERSION``, ``account:PROVIDER`` ...) as associated data, so a value copied into
another row does not decrypt. The database also keeps a sealed check value: a host with another key file
is told so at once, in one line, instead of failing later or ordering certificates again.

This is the only module of ``zerossl_tui.storage`` that imports ``cryptography`` (an import-linter
contract holds it to that).
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ...core.errors import ConfigError, StorageError
from ..fsutil import atomic_write, ensure_dir

KEY_BYTES = 32
KEY_FILE_MAX = 4096  # a key file is one base64 line of 45 bytes; more is never a key
NONCE_BYTES = 12
FORMAT = b"\x01"
CHECK_PLAINTEXT = b"zerossl-tui fleet key check"
CHECK_AAD = "key-check"


class KeyFileMismatch(ConfigError):
    """The key file is not the one the fleet database was set up with."""


class SecretBox:
    """Seals and opens values with the fleet key; ``key_file`` is named in messages."""

    def __init__(self, key: bytes, key_file: Path) -> None:
        self._aead = AESGCM(key)
        self.key_file = key_file

    def __repr__(self) -> str:
        return f"SecretBox({self.key_file})"

    def seal(self, data: bytes, where: str) -> bytes:
        """``data`` encrypted and authenticated, bound to ``where``."""
        nonce = os.urandom(NONCE_BYTES)
        return FORMAT + nonce + self._aead.encrypt(nonce, data, where.encode())

    def open(self, sealed: bytes, where: str) -> bytes:
        """The plaintext of a sealed value; StorageError naming the key file when it does not decrypt."""
        sealed = bytes(sealed)
        if sealed[:1] != FORMAT or len(sealed) < 1 + NONCE_BYTES + 16:
            raise StorageError(f"the stored secret of {where} is damaged (unknown format)")
        try:
            return self._aead.decrypt(sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :], where.encode())
        except InvalidTag:
            raise StorageError(f"cannot decrypt the stored secret of {where} with {self.key_file}: this key"
                               " file is not the one the fleet uses (copy it from another host)") from None

    def check_value(self) -> bytes:
        """A sealed constant stored once in the database, to recognise the right key file."""
        return self.seal(CHECK_PLAINTEXT, CHECK_AAD)

    def verify(self, sealed: bytes) -> None:
        """ConfigError (one line) when ``sealed`` was made with another key."""
        try:
            ok = self.open(sealed, CHECK_AAD) == CHECK_PLAINTEXT
        except StorageError:
            ok = False
        if not ok:
            raise KeyFileMismatch(f"storage key file {self.key_file} does not match the key the fleet database was"
                              " set up with: copy key_file from another host of the fleet")


def ensure_key_file(path: Path) -> bool:
    """Create ``path`` (0600, in a 0700 folder) with a new random key when it does not exist; True when made."""
    path = Path(path).expanduser()
    if path.exists() or path.is_symlink():
        return False
    ensure_dir(path.parent)
    atomic_write(path, base64.b64encode(os.urandom(KEY_BYTES)) + b"\n", 0o600)
    return True


def load_key_file(path: Path) -> SecretBox:
    """The fleet key from ``path``; ConfigError (one line) when it is missing, unreadable, open to others or
    not a key."""
    path = Path(path).expanduser()
    try:
        info = path.stat()
        raw = _read_small(path, info)
    except FileNotFoundError:
        raise ConfigError(f"storage key file {path} does not exist: copy it from another host of the fleet"
                          " (or let `storage use postgresql` create it for a new fleet)") from None
    except OSError as exc:
        raise ConfigError(f"cannot read storage key file {path}: {exc.strerror or exc}") from None
    if stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(f"storage key file {path} is readable by others (mode"
                          f" {stat.S_IMODE(info.st_mode):o}): run chmod 600 {path}")
    return SecretBox(_decode_key(raw, path), path)


def _read_small(path: Path, info: os.stat_result) -> bytes:
    """The start of a regular file: a device such as /dev/zero would be read until memory ran out, and a
    FIFO would hang every command."""
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"storage key file {path} is not a regular file: give the path of the key file"
                          " (copy it from another host of the fleet)")
    with path.open("rb") as handle:
        return handle.read(KEY_FILE_MAX)


def _decode_key(raw: bytes, path: Path) -> bytes:
    try:
        key = base64.b64decode(raw.strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != KEY_BYTES:
        raise ConfigError(f"storage key file {path} does not hold a key (expected {KEY_BYTES} bytes in"
                          " base64 on one line): copy it from another host of the fleet")
    return key
