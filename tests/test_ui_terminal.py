"""The dashboard in a real terminal (tmux): the table shows, `r` renews, `q` quits."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer
from zerossl_tui.service.service import CertificateService

pytestmark = [pytest.mark.pebble, pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")]


def tmux(*args: str) -> str:
    """Run a tmux command and return its output."""
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def wait_for(check: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``check`` until it is true or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_real_terminal_shows_renews_and_quits(local_home: Home, pebble: PebbleServer) -> None:
    service = CertificateService()
    service.add_certificate("web", ["web.example.test"], "local", http_port=pebble.http_port,
                            http_bind="127.0.0.1")
    first = service.issue("web")
    session = f"zt-ui-{time.monotonic_ns()}"
    script = local_home.root / "run.sh"
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in local_home.env().items()
                      if k.startswith(("ZEROSSL_TUI_", "XDG_")) or k in ("HOME", "PATH"))
    script.write_text(f"{exports}export TERM=xterm-256color\nexec {shlex.quote(sys.executable)} -m zerossl_tui\n")
    tmux("new-session", "-d", "-s", session, "-x", "140", "-y", "40", f"sh {shlex.quote(str(script))}")
    screen = lambda: tmux("capture-pane", "-p", "-t", session)  # noqa: E731
    try:
        assert wait_for(lambda: "web.example.test" in screen()), screen()
        assert "Expires in" in screen() and "valid" in screen()
        tmux("send-keys", "-t", session, "r")

        def renewed() -> bool:
            info = service.current_info("web")
            return info is not None and info.serial != first.serial

        assert wait_for(renewed), screen()
        assert wait_for(lambda: "issued serial" in screen() or "Certificate issued" in screen(), 10), screen()
        tmux("send-keys", "-t", session, "q")
        assert wait_for(lambda: session not in tmux("list-sessions", "-F", "#{session_name}"), 15), screen()
    finally:
        tmux("kill-session", "-t", session)
