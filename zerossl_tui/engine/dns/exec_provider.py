"""``exec``: a program of the user's, called as ``PROGRAM present|cleanup FQDN VALUE`` (lego's and
acme.sh's escape hatch for any DNS service).

No shell: the command is split like a shell would (``shlex``) and run directly, in its own process group,
with stdin closed. It must exit 0 within ``timeout`` seconds; on a timeout or a cancel the whole group is
killed, so a hung ``curl`` it started does not outlive it. A ``present`` that exits 126 or 127 (the shell's
"cannot execute" and "not found", as when its #! interpreter is missing) added nothing: no cleanup follows.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess

from ...core.clock import SYSTEM_CLOCK
from ...core.errors import Cancelled, DnsError, UsageError
from .lookup import ZoneFinder
from .providers import DnsProvider, DnsRefused

EXEC_TIMEOUT = 60.0
POLL = 0.2
NEVER_RAN = (126, 127)  # exit statuses of a command that could not be run at all (POSIX shell convention)


class ExecProvider(DnsProvider):
    """Runs the user's program to add and remove each TXT value."""

    kind = "exec"

    def __init__(self, name: str, zones: ZoneFinder, *, command: str, timeout: float = EXEC_TIMEOUT) -> None:
        super().__init__(name, zones)
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise UsageError(f"{self.who}: command cannot be split into words: {exc}") from None
        if not self.argv:
            raise UsageError(f"{self.who}: command is empty")
        self.timeout = timeout

    def present(self, fqdn: str, value: str) -> None:
        """``PROGRAM present FQDN VALUE``."""
        self._run("present", fqdn, value)

    def cleanup(self, fqdn: str, value: str) -> None:
        """``PROGRAM cleanup FQDN VALUE``."""
        self._run("cleanup", fqdn, value)

    def _run(self, action: str, fqdn: str, value: str) -> None:
        what = f"`{os.path.basename(self.argv[0])} {action} {fqdn}`"
        try:
            proc = subprocess.Popen([*self.argv, action, fqdn, value], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            # "/opt/my hook.sh" unquoted is split into "/opt/my" and "hook.sh": say how to keep it whole
            hint = " (quote a path that holds spaces: --command \"'/opt/my hook.sh'\")" \
                if isinstance(exc, FileNotFoundError) and len(self.argv) > 1 else ""
            raise DnsRefused(f"{self.who}: cannot run {self.argv[0]}: {exc.strerror or exc}{hint}") from None
        stderr = self._wait(proc, what)
        if proc.returncode != 0:
            last = (stderr.decode(errors="replace").strip().splitlines() or [""])[-1][:200]
            detail = f": {last}" if last else ""
            # 126 and 127 are the shell's "cannot execute" and "not found": the program (or the interpreter
            # its #! line names) never ran, so a present added nothing and there is nothing to clean up.
            kind = DnsRefused if proc.returncode in NEVER_RAN and action == "present" else DnsError
            note = ": it did not run, nothing was added" if kind is DnsRefused else ""
            raise kind(f"{self.who}: {what} exited with status {proc.returncode}{note}{detail}")

    def _wait(self, proc: subprocess.Popen[bytes], what: str) -> bytes:
        """The program's stderr once it exits; its process group killed on timeout (DnsError) or cancel."""
        clock = SYSTEM_CLOCK
        deadline = clock.monotonic() + self.timeout
        while True:
            try:
                return proc.communicate(timeout=max(0.0, min(POLL, deadline - clock.monotonic())))[1]
            except subprocess.TimeoutExpired:
                pass
            if self.cancel.is_set():
                _kill_group(proc)
                raise Cancelled(f"cancelled while {what} ran ({self.who})")
            if clock.monotonic() >= deadline:
                _kill_group(proc)
                raise DnsError(f"{self.who}: {what} did not finish within {self.timeout:g} s: killed it")


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    try:
        proc.communicate(timeout=5)
    except subprocess.TimeoutExpired:  # a child that left the group still holds stderr open
        proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
