"""Deploy and failure hooks: run without a shell unless asked, values passed in the environment only."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Callable, Mapping

HookLog = Callable[[str], None]


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
    env = {**os.environ, **env_values}
    try:
        args: str | list[str] = command if shell else shlex.split(command)
        done = subprocess.run(
            args, shell=shell, env=env, timeout=timeout, capture_output=True, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired:
        log(f"hook {_name(command)} was stopped after {timeout:.0f} s")
        return False
    except (OSError, ValueError) as exc:
        log(f"hook {_name(command)} could not start: {exc.strerror if isinstance(exc, OSError) else exc}")
        return False
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).decode(errors="replace").strip().splitlines()[-1:]
        log(f"hook {_name(command)} exited {done.returncode}" + (f": {tail[0][:200]}" if tail else ""))
        return False
    return True


def _name(command: str) -> str:
    """The program's name only: arguments may hold values the user would rather not see in logs."""
    parts = command.split()
    return repr(os.path.basename(parts[0])) if parts else "''"
