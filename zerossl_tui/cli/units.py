"""Ready-to-use systemd units for the daemon, or for `renew` on a timer."""

from __future__ import annotations

import os
import shlex
import shutil
import sys

from ..storage.paths import DATA_ENV, resolve_paths


def _command(config: str | None) -> str:
    # The settings file this shell sees, named outright: systemd starts the daemon without this shell's
    # ZEROSSL_TUI_CONFIG or XDG_CONFIG_HOME.
    which = shutil.which("zerossl-tui")
    exe = _word(which) if which else f"{_word(sys.executable)} -m zerossl_tui"
    return f"{exe} --config {_word(str(resolve_paths(config).config_file))}"


def _word(text: str) -> str:
    """One ExecStart argument: quoted, with systemd's specifiers (``%``) and variables (``$``) doubled, so a
    path like ``/srv/50%off`` reaches the daemon as it is instead of failing or becoming another path."""
    return shlex.quote(text).replace("%", "%%").replace("$", "$$")


def _environment(config: str | None) -> str:
    """An ``Environment=`` line pinning the data folder when this shell's environment chose it (the
    daemon would otherwise use another folder, with none of these certificates and accounts)."""
    if not (os.environ.get(DATA_ENV) or os.environ.get("XDG_DATA_HOME")):
        return ""
    value = f"{DATA_ENV}={resolve_paths(config).data_dir}"
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    return f'Environment="{escaped}"\n'


def systemd_units(*, timer: bool, config: str | None) -> str:
    """The unit file text, with install instructions as comments."""
    command, environment = _command(config), _environment(config)
    if not timer:
        return f"""# /etc/systemd/system/zerossl-tui.service
# install: save this file, then `systemctl daemon-reload && systemctl enable --now zerossl-tui`
[Unit]
Description=zerossl-tui certificate autorenewal
Wants=network-online.target
After=network-online.target

[Service]
{environment}ExecStart={command} daemon
Restart=on-failure
RestartSec=30
# SIGTERM cancels running orders cleanly within seconds
KillSignal=SIGTERM
TimeoutStopSec=60
UMask=0077

[Install]
WantedBy=multi-user.target"""
    return f"""# /etc/systemd/system/zerossl-tui-renew.service
[Unit]
Description=zerossl-tui: renew certificates that are due
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
{environment}ExecStart={command} renew
UMask=0077

# /etc/systemd/system/zerossl-tui-renew.timer
# install: save both files, then `systemctl daemon-reload && systemctl enable --now zerossl-tui-renew.timer`
[Unit]
Description=Run zerossl-tui renew twice a day

[Timer]
OnCalendar=*-*-* 00,12:00:00
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target"""
