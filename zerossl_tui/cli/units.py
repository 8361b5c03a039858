"""Ready-to-use systemd units for the daemon, or for `renew` on a timer."""

from __future__ import annotations

import os
import shlex
import shutil
import sys


def _command(config: str | None) -> str:
    exe = shutil.which("zerossl-tui") or f"{sys.executable} -m zerossl_tui"
    config = config or os.environ.get("ZEROSSL_TUI_CONFIG")
    return exe + (f" --config {shlex.quote(os.path.abspath(config))}" if config else "")


def systemd_units(*, timer: bool, config: str | None) -> str:
    """The unit file text, with install instructions as comments."""
    command = _command(config)
    if not timer:
        return f"""# /etc/systemd/system/zerossl-tui.service
# install: save this file, then `systemctl daemon-reload && systemctl enable --now zerossl-tui`
[Unit]
Description=zerossl-tui certificate autorenewal
Wants=network-online.target
After=network-online.target

[Service]
ExecStart={command} daemon
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
ExecStart={command} renew
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
