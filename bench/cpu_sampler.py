"""Where a process's CPU goes, by thread and by stack, sampled in-process (py-spy is not installed here).

    sampler = CpuSampler(out_path, seconds=30); sampler.start()   # in the measured process

Every ``interval`` seconds it reads each thread's own CPU clock (``pthread_getcpuclockid``) and charges what
the thread used since the last sample to the stack it is in now (its innermost frames, and the function of
ours nearest the top). Only CPU is charged: a thread waiting in ``Event.wait`` or ``select`` uses none, so
it is not counted however often it is seen. The sampler's own thread is left out (its cost is reported
apart). At the end it writes JSON: CPU per thread (by the function its stack starts with), per leaf
function, per "ours" function, and per folded stack.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType

DEPTH = 14  # frames kept in a folded stack


def _where(frame: FrameType) -> str:
    code = frame.f_code
    file = code.co_filename
    for marker in ("zerossl_tui/", "textual/", "rich/", "acme/", "josepy/", "urllib3/", "requests/",
                   "http/", "ssl", "sqlite3/", "asyncio/", "concurrent/", "threading", "json/", "bench/"):
        at = file.find(marker)
        if at >= 0:
            file = file[at:]
            break
    else:
        file = file.rsplit("/", 1)[-1]
    return f"{file}:{code.co_name}"


def _stack(frame: FrameType | None) -> list[str]:
    out = []
    while frame is not None:
        out.append(_where(frame))
        frame = frame.f_back
    return out  # innermost first


class CpuSampler(threading.Thread):
    """A daemon thread charging each thread's CPU to its current stack for ``seconds``; writes ``out``."""

    def __init__(self, out: Path, seconds: float, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="cpu-sampler")
        self.out, self.seconds, self.interval = out, seconds, interval
        self.by_thread: defaultdict[str, float] = defaultdict(float)
        self.by_leaf: defaultdict[str, float] = defaultdict(float)
        self.by_ours: defaultdict[str, float] = defaultdict(float)
        self.by_stack: defaultdict[str, float] = defaultdict(float)
        self.clocks: dict[int, float] = {}

    def run(self) -> None:
        """Sample until ``seconds`` have passed, then write the figures."""
        began, began_cpu = time.monotonic(), time.process_time()
        own_began = time.thread_time()
        while time.monotonic() - began < self.seconds:
            self._sample()
            time.sleep(self.interval)
        wall, cpu = time.monotonic() - began, time.process_time() - began_cpu
        own = time.thread_time() - own_began
        self._write(wall, cpu, own)

    def _sample(self) -> None:
        me = threading.get_ident()
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            try:
                now = time.clock_gettime(time.pthread_getcpuclockid(ident))
            except OSError:
                continue
            before = self.clocks.get(ident)
            self.clocks[ident] = now
            if before is None or now <= before:
                continue
            used = now - before
            stack = _stack(frame)
            self.by_thread[stack[-1] if len(stack) < 3 else " < ".join(reversed(stack[-3:]))] += used
            self.by_leaf[stack[0]] += used
            ours = next((s for s in stack if s.startswith(("zerossl_tui/", "bench/"))), stack[0])
            self.by_ours[ours] += used
            self.by_stack[";".join(reversed(stack[:DEPTH]))] += used

    def _write(self, wall: float, cpu: float, own: float) -> None:
        def top(counter: dict[str, float], n: int) -> list[tuple[str, float]]:
            return [(k, round(v, 3)) for k, v in sorted(counter.items(), key=lambda kv: -kv[1])[:n]]

        self.out.write_text(json.dumps({
            "wall_s": round(wall, 2), "process_cpu_s": round(cpu, 3), "sampler_cpu_s": round(own, 3),
            "charged_cpu_s": round(sum(self.by_leaf.values()), 3),
            "by_thread": top(self.by_thread, 20), "by_ours": top(self.by_ours, 40),
            "by_leaf": top(self.by_leaf, 40), "by_stack": top(self.by_stack, 60)}, indent=1))
