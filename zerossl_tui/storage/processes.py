"""Is the process that wrote a row still the one running? pids are reused (after a reboot the pid of a
process killed mid-order soon belongs to something else), so a pid is checked with its start time."""

from __future__ import annotations

import os
from pathlib import Path


def process_alive(pid: int, start: str = "") -> bool:
    """True when process ``pid`` exists and, when ``start`` was recorded, is the same process."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        pass  # exists but belongs to another user
    now = process_start(pid)
    return not (start and now and now != start)


def process_start(pid: int) -> str:
    """``BOOT:TICKS``: when the system booted and how long after it ``pid`` started (Linux ``/proc``), which
    tells two processes with the same pid apart; "" where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        boot = next(line.split()[1] for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return f"{boot}:{fields[19]}"  # field 22, starttime; the name in (...) may hold spaces
    except (OSError, IndexError, StopIteration):
        return ""
