"""Parts of the fleet benchmark (bench/fleet.py): the round-robin balancer on Pebble's http-01 port, CPU
seconds per process, py-spy, pg_stat_statements and the lock latency probe."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pgserver import PgServer

from zerossl_tui.devtools.pebble import PebbleServer

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_pids(server: PgServer) -> list[int]:
    """The postmaster and every process it started (backends, checkpointer, ...)."""
    master = int((server.data / "postmaster.pid").read_text().split()[0])
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


class CpuMeter:
    """CPU seconds per process group of the timed phase: each daemon, PostgreSQL, Pebble."""

    def __init__(self, pg: PgServer | None, pebble: PebbleServer, hosts: list[Any]) -> None:
        self.pg, self.pebble = pg, pebble
        self.start = self._others()
        self.bench = cpu_seconds(os.getpid())
        # Daemons already running (the steady state) count from now; those started later, their whole life.
        self.daemons = {h.host_id: cpu_seconds(h.proc.pid) for h in hosts
                        if h.proc is not None and h.proc.poll() is None}

    def _others(self) -> dict[str, dict[int, float]]:
        groups = {"pebble": {p.pid: cpu_seconds(p.pid) for p in self.pebble._procs}}
        if self.pg is not None:
            groups["postgresql"] = {pid: cpu_seconds(pid) for pid in postgres_pids(self.pg)}
        return groups

    def end(self, hosts: list[Any]) -> dict[str, float]:
        """Seconds used since the meter was made (daemons started after it: their whole life)."""
        out = {h.host_id: round(cpu_seconds(h.proc.pid) - self.daemons.get(h.host_id, 0.0), 2)
               for h in hosts if h.proc is not None}
        out["bench"] = round(cpu_seconds(os.getpid()) - self.bench, 2)  # its polling and balancer
        for group, pids in self._others().items():
            out[group] = round(sum(now - self.start[group].get(pid, 0.0) for pid, now in pids.items()), 2)
        return out


def py_spy(host: Any, folder: Path, label: str = "") -> subprocess.Popen[bytes]:
    """Sample one daemon with py-spy until it exits: collapsed stacks of the thread holding the GIL (where
    its Python CPU time goes; waits for the network, the disk or the GIL are left out)."""
    assert host.proc is not None
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--pid", str(host.proc.pid), "--rate", "200", "--format", "raw",
                             "--nonblocking", "--gil", "-o", str(folder / f"{host.host_id}{label}.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def statement_counts(server: PgServer, database: str) -> str:
    """The statements PostgreSQL ran in the timed phase, most called first (pg_stat_statements)."""
    return server.psql("SELECT calls, round(total_exec_time::numeric, 1), left(regexp_replace(query, '\\s+', ' ', 'g'),"
                       " 160) FROM pg_stat_statements ORDER BY calls DESC LIMIT 40", database)


def lock_latency(dsn: str, key_file: Path, data: Path) -> dict[str, Any]:
    """Taking and giving back a free lock 200 times: filesystem flock vs a PostgreSQL lease row."""
    from zerossl_tui.storage.backend import FileLocker
    from zerossl_tui.storage.postgres import open_postgresql

    backend = open_postgresql(dsn, "bench-probe", key_file, datetime.now(UTC))
    out = {}
    for label, locker in (("filesystem", FileLocker(data / "locks")), ("postgresql", backend.locker)):
        times = []
        for i in range(200):
            lock = locker.certificate(f"lock{i % 10}")
            start = time.perf_counter()
            assert lock.try_acquire()
            times.append(time.perf_counter() - start)
            lock.release()
        out[label] = {"median_ms": round(statistics.median(times) * 1000, 3), "worst_ms": round(max(times) * 1000, 3)}
    backend.close()
    return out


