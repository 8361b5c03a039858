"""Hooks are contained: a timeout stops everything a hook started, endless output does not grow the process,
and a failed hook is named by its program alone (never an assignment, never an argument)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from zerossl_tui.service.hooks import run_hook


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("shell", [True, False])
def test_a_hook_timeout_stops_the_children_it_started_too(tmp_path: Path, shell: bool) -> None:
    pidfile = tmp_path / "child.pid"
    script = f"sleep 120 & echo $! > {pidfile}; wait"
    command = script if shell else f"/bin/sh -c '{script}'"
    log: list[str] = []
    assert not run_hook(command, {}, timeout=1, shell=shell, log=log.append)
    assert log and "was stopped after 1 s" in log[0]
    child = int(pidfile.read_text())
    try:
        assert wait_gone(child), f"the hook's child {child} was left running"
    finally:
        if alive(child):
            os.kill(child, 9)


def test_a_hook_that_leaves_a_background_child_and_exits_is_not_waited_for(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    log: list[str] = []
    assert run_hook(f"sleep 30 & echo $! > {pidfile}", {}, timeout=300, shell=True, log=log.append), log
    child = int(pidfile.read_text())
    try:
        # Waiting for the pipe to close would have waited for the sleep to end.
        assert alive(child), "run_hook waited for a child that the hook left in the background"
    finally:
        os.kill(child, 9)


def test_endless_hook_output_keeps_only_its_tail_and_does_not_grow_the_process(tmp_path: Path) -> None:
    program = textwrap.dedent("""
        import resource, sys
        from zerossl_tui.service.hooks import run_hook
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        log = []
        ok = run_hook("head -c 200000000 /dev/zero; echo; echo the last words; exit 3", {}, timeout=120,
                      shell=True, log=log.append)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(ok, grown, log[0])
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr
    ok, grown_kib, message = done.stdout.strip().split(" ", 2)
    assert ok == "False" and message == "hook 'head' exited 3: the last words"
    assert int(grown_kib) < 32 * 1024, f"200 MB of hook output grew the process by {grown_kib} KiB"


@pytest.mark.parametrize("shell", [True, False])
@pytest.mark.parametrize("command", [
    "API_TOKEN=s3cr3tvalue /bin/false",
    "API_TOKEN=s3cr3tvalue OTHER='s3cr3t two' /bin/false --password=s3cr3tvalue",
])
def test_a_failed_hook_is_named_by_its_program_never_an_assignment_or_argument(command: str, shell: bool) -> None:
    if not shell:
        command = "/usr/bin/env " + command
    log: list[str] = []
    assert not run_hook(command, {}, timeout=30, shell=shell, log=log.append)
    assert len(log) == 1 and "s3cr3t" not in log[0], log
    assert log[0] == ("hook 'false' exited 1" if shell else "hook 'env' exited 1")


def test_an_assignment_in_front_of_a_program_without_a_shell_says_what_to_do() -> None:
    log: list[str] = []
    assert not run_hook("API_TOKEN=s3cr3tvalue /bin/true", {}, timeout=30, shell=False, log=log.append)
    assert len(log) == 1 and "s3cr3t" not in log[0] and log[0].startswith("hook 'true' could not start")
    assert "hook_shell = true" in log[0]
