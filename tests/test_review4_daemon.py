"""Fourth new-user review, the daemon of a fleet host started while its PostgreSQL is away (a reboot where the
daemon comes up first): it used to end at once with exit 1 after one error line; it now waits and joins
the fleet once the database is back. A real PostgreSQL, stopped and started by the test."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import Home
from pgserver import PgServer, pg_dsn, pg_server  # noqa: F401


class Lines:
    """The daemon's stderr, read in a thread so that the test can poll it against a deadline."""

    def __init__(self, daemon: subprocess.Popen[str]) -> None:
        self.text = ""
        self.thread = threading.Thread(target=self._read, args=(daemon,), daemon=True)
        self.thread.start()

    def _read(self, daemon: subprocess.Popen[str]) -> None:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            self.text += line

    def wait_for(self, want: str, daemon: subprocess.Popen[str], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while want not in self.text:
            assert daemon.poll() is None, f"the daemon ended ({daemon.returncode}):\n{self.text}"
            assert time.monotonic() < deadline, f"{want!r} never appeared:\n{self.text}"
            time.sleep(0.2)


def test_a_fleet_daemon_started_while_postgresql_is_away_waits_for_it(
    home: Home, tmp_path: Path, pg_server: PgServer, pg_dsn: str,  # noqa: F811
) -> None:
    home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(tmp_path / "key"), check=True)
    pg_server.stop()
    started = False
    daemon = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=home.env(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        lines = Lines(daemon)
        lines.wait_for("waiting for storage: PostgreSQL", daemon)
        time.sleep(1.5)  # a turn of the old code's scheduler would have ended the process by now
        assert daemon.poll() is None, lines.text
        pg_server.start()
        started = True
        lines.wait_for("joined", daemon)
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=30) == 0, lines.text
    finally:
        if daemon.poll() is None:
            daemon.kill()
        if not started:
            pg_server.start()  # the next tests need it
    assert lines.text.count("waiting for storage") == 1  # said once, not at every try
