"""What may be read (and then replaced) as a settings file: a regular file, or nothing yet.

`--config /dev/null` read as empty and the next save replaced the device with a file (as root, /dev/null
itself); a FIFO hung every command, and /dev/zero filled memory. They are refused before anything is read.
"""

from __future__ import annotations

import stat
from pathlib import Path

from ..core.errors import ConfigError

SETTINGS_MAX = 256 << 20  # far above any real settings file (10,000 certificates take a few MB)
_KINDS = {stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device", stat.S_IFIFO: "a FIFO",
          stat.S_IFSOCK: "a socket"}


def check_settings_path(path: Path) -> None:
    """ConfigError naming ``path`` when it is a folder, a device, a FIFO or a socket, or absurdly large;
    nothing when it is a regular file or does not exist (a failure to look is left to the read)."""
    try:
        info = path.stat()
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path} is a folder: --config (or ZEROSSL_TUI_CONFIG) must name a settings file, "
                          f"such as {path / 'settings.toml'}")
    if not stat.S_ISREG(info.st_mode):
        kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a file")
        raise ConfigError(f"{path} is not a regular file ({kind}): --config (or ZEROSSL_TUI_CONFIG) must name a "
                          "settings file, such as ~/.config/zerossl-tui/settings.toml (it is made when missing)")
    if info.st_size > SETTINGS_MAX:
        raise ConfigError(f"{path} is {info.st_size >> 20} MiB: a settings file is at most "
                          f"{SETTINGS_MAX >> 20} MiB; is it the right file?")
