"""Where every file lives: the settings file, its secrets file, and the data folder's layout.

Settings come first (``--config FILE``, else ``$ZEROSSL_TUI_CONFIG``, else the platform's user config
folder); the data folder may be named inside them (``[general] data_dir``), so it is resolved in a second
step: ``resolve_paths(config)``, load the settings, then ``paths.with_settings(settings)``.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ..core.domains import validate_entry_name
from ..core.settings import Settings

APP_NAME = "zerossl-tui"
CONFIG_ENV = "ZEROSSL_TUI_CONFIG"
DATA_ENV = "ZEROSSL_TUI_DATA_DIR"
SETTINGS_NAME = "settings.toml"
SECRETS_NAME = "secrets.toml"


@dataclass(frozen=True)
class Paths:
    """The files of one installation; every path is absolute."""

    config_file: Path
    secrets_file: Path
    data_dir: Path

    @property
    def accounts_root(self) -> Path:
        """``DATA/accounts``: one folder per provider."""
        return self.data_dir / "accounts"

    @property
    def certificates_dir(self) -> Path:
        """``DATA/certificates``: one folder per certificate."""
        return self.data_dir / "certificates"

    @property
    def journal_path(self) -> Path:
        """``DATA/journal.sqlite3``: orders, their events, and renewal state."""
        return self.data_dir / "journal.sqlite3"

    @property
    def locks_dir(self) -> Path:
        """``DATA/locks``: one lock file per certificate."""
        return self.data_dir / "locks"

    def accounts_dir(self, provider: str) -> Path:
        """``DATA/accounts/<provider>``: the ACME account key and URL, the EAB cache."""
        return accounts_dir(self.data_dir, provider)

    def cert_dir(self, name: str) -> Path:
        """``DATA/certificates/<name>``: every issued version and the ``current`` pointer."""
        return cert_dir(self.data_dir, name)

    def with_settings(self, settings: Settings) -> Paths:
        """These paths with the data folder that ``settings`` name, when they name one."""
        return replace(self, data_dir=_data_dir(settings.general.data_dir, self.config_file))


def accounts_dir(data_dir: Path, provider: str) -> Path:
    """``DATA/accounts/<provider>``."""
    return data_dir / "accounts" / safe_name(provider, "provider")


@functools.lru_cache(maxsize=16384)
def cert_dir(data_dir: Path, name: str) -> Path:
    """``DATA/certificates/<name>`` (kept: an order asks ~20 times, each a name check and two joins)."""
    return data_dir / "certificates" / safe_name(name, "certificate")


def safe_name(name: str, what: str) -> str:
    """``name`` when it is safe as one folder name (never ``..`` or a path); UsageError otherwise."""
    return validate_entry_name(name, what)


def resolve_paths(config: str | None = None, settings_data_dir: str = "") -> Paths:
    """Where the settings, secrets and data live.

    ``config`` (from ``--config``) wins over ``$ZEROSSL_TUI_CONFIG`` and the platform default. The data
    folder is ``settings_data_dir`` when given (relative to the settings file's folder), else
    ``$ZEROSSL_TUI_DATA_DIR``, else the platform's user data folder. ``~`` is expanded everywhere.
    """
    config_file = _config_file(config)
    return Paths(
        config_file=config_file,
        secrets_file=config_file.with_name(SECRETS_NAME),
        data_dir=_data_dir(settings_data_dir, config_file),
    )


def _config_file(config: str | None) -> Path:
    given = config or os.environ.get(CONFIG_ENV, "")
    if given:
        return Path(given).expanduser().absolute()
    import platformdirs  # only for the platform default: start-up pays nothing when a path is given

    return Path(platformdirs.user_config_dir(APP_NAME)) / SETTINGS_NAME


def _data_dir(settings_data_dir: str, config_file: Path) -> Path:
    if settings_data_dir:
        # Relative to the settings file, not to wherever a daemon or cron job happens to start.
        return (config_file.parent / Path(settings_data_dir).expanduser()).absolute()
    from_env = os.environ.get(DATA_ENV, "")
    if from_env:
        return Path(from_env).expanduser().absolute()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME))
