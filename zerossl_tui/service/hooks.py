"""Deploy and failure hooks: run without a shell unless asked, values passed in the environment only.

A hook runs in a session of its own, so that a timeout stops everything it started (a shell's children
too), not only the process we forked. Only the last ``OUTPUT_LIMIT`` bytes of what it prints are kept: a
hook that prints without end must not make this process grow.
"""

from __future__ import annotations

import os
import re
import selectors
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Mapping

HookLog = Callable[[str], None]
OUTPUT_LIMIT = 64 * 1024
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.S)


def run_hook(
    command: str,
    env_values: Mapping[str, str],
    *,
    timeout: float,
    shell: bool,
    log: HookLog,
) -> bool:
    """Run ``command`` with ``env_values`` added to the environment; log and swallow every failure."""
    if not command.strip():
        return True
    if not shell and _ASSIGNMENT.fullmatch(command.split()[0]):
        log(f"hook {_name(command)} could not start: a NAME=value in front of a program needs "
            "hook_shell = true (or write `env NAME=value program`)")
        return False
    try:
        proc = _start(command, {**os.environ, **env_values}, shell)
    except (OSError, ValueError) as exc:
        log(f"hook {_name(command)} could not start: {exc.strerror if isinstance(exc, OSError) else exc}")
        return False
    code, tail = _finish(proc, time.monotonic() + timeout)
    if code is None:
        log(f"hook {_name(command)} was stopped after {timeout:.0f} s")
        return False
    if code != 0:
        last = tail.decode(errors="replace").strip().splitlines()[-1:]
        log(f"hook {_name(command)} exited {code}" + (f": {last[0][:200]}" if last else ""))
        return False
    return True


def _start(command: str, env: dict[str, str], shell: bool) -> subprocess.Popen[bytes]:
    args: str | list[str] = command if shell else shlex.split(command)
    return subprocess.Popen(
        args, shell=shell, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )


def _finish(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int | None, bytes]:
    """(exit status, or None when it was stopped at ``deadline``; the tail of its output)."""
    tail, closed = _read_tail(proc, deadline)
    try:
        # Its output may close before it exits (``exec >&-``): the deadline still holds.
        code = proc.wait(max(deadline - time.monotonic(), 0.001) if closed else 0.001)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        return None, tail
    return code, tail


def _read_tail(proc: subprocess.Popen[bytes], deadline: float) -> tuple[bytes, bool]:
    """The last OUTPUT_LIMIT bytes printed until the output closes (True), or the hook exits, or
    ``deadline`` passes (False)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    tail = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while (left := deadline - time.monotonic()) > 0:
            if not selector.select(min(left, 0.1)):
                if proc.poll() is not None:
                    break  # exited; a child it left in the background may keep the pipe open
                continue
            chunk = os.read(fd, OUTPUT_LIMIT)
            if not chunk:
                proc.stdout.close()
                return bytes(tail), True
            tail += chunk
            del tail[:-OUTPUT_LIMIT]
    proc.stdout.close()
    return bytes(tail), False


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop the hook and everything it started (its session's process group), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        pass  # already gone
    proc.wait()


def _name(command: str) -> str:
    """The program's name only: never its arguments, nor a ``NAME=value`` assignment in front of it
    (both may hold values the user would rather not see in logs)."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    program = next((w for w in words if not _ASSIGNMENT.fullmatch(w)), "")
    return repr(os.path.basename(program)) if program else "(a command of assignments only)"
