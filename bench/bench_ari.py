"""The scheduler's first ARI pass over N real certificates (issue 14): CPU, wall time and pace.

N certificates are added in one settings write and issued against a local Pebble 2.6 (the one with ARI,
``/opt/pebble-trixie``) in ONE `zerossl-tui renew --force` at concurrency 16, so that Pebble knows every
one of them. Then each measured run forgets every ARI answer (as a first start after the window's retry
time does) and runs one ``refresh_due`` pass in a fresh process, timing it with ``getrusage`` (our CPU) and
``/proc`` (Pebble's CPU). With ``--baseline DIR`` (another checkout's code, e.g. ``git archive main``), the
two run interleaved against the same Pebble and the same store.

Run: ``python bench/bench_ari.py [--count 1000] [--runs 3] [--baseline DIR] [--rate R]``. ``--rate`` sets
the pace of the new code for the run (0: unpaced, to compare CPU with the old, unpaced code; default: the
code's own default, which then shows the pace as wall time). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SETUP_CONCURRENCY = 16

# The same one-write seeding as bench_list.py (names e0000..., one settings write).
from bench_list import _ADD_MANY  # noqa: E402 - after the path set-up

# One pass in a fresh process. Every certificate's ARI answer is forgotten first (untimed), keeping the
# rest of its state, so the pass asks about all of them, as the first start after their retry time does.
_PASS = """
import json, resource, sys, threading, time
from dataclasses import replace
from zerossl_tui.core.models import RenewalState
from zerossl_tui.service import ari
from zerossl_tui.service.service import CertificateService
import zerossl_tui.engine.pool, zerossl_tui.engine.session  # a running scheduler imported these long ago
service = CertificateService()
names = sorted(service.settings.certificates)
states = service.journal.all_states()
fresh = {n: replace(states.get(n, RenewalState()), ari_retry_at=None, ari_window_start=None,
                    ari_window_end=None, ari_chosen=None, ari_explanation="") for n in names}
if hasattr(service.journal, "put_states"):
    service.journal.put_states(fresh)
else:
    for n, s in fresh.items():
        service.journal.put_state(n, s)
rate = sys.argv[1]
if rate and hasattr(ari, "LOOKUPS_PER_SECOND"):
    ari.LOOKUPS_PER_SECOND = float(rate)
    if hasattr(ari, "FAR_FLOOR"):  # paced by need: certificates far from renewal go at this pace too
        ari.FAR_FLOOR = float(rate)
lines = []
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
ari.refresh_due(service.deps(), threading.Event(), lines.append)
wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
asked = sum(1 for s in service.journal.all_states().values() if s.ari_window_start is not None)
print(json.dumps({"cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "asked": asked, "lines": lines[:5],
                  "code": ari.__file__}))
"""


def log(message: str) -> None:
    """Progress on stderr, timestamped."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def proc_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seed(pebble: Any, home: Path, count: int) -> dict[str, Any]:
    """Add ``count`` certificates and issue them all in one renew --force; the environment of the home."""
    env = {**os.environ, "ZEROSSL_TUI_CONFIG": str(home / "settings.toml"),
           "ZEROSSL_TUI_DATA_DIR": str(home / "data"), "PYTHONPATH": str(ROOT)}
    zt = [sys.executable, "-m", "zerossl_tui"]
    subprocess.run([*zt, "provider", "add", "local", "--directory", pebble.directory, "--ca-bundle",
                    str(pebble.ca_bundle), "--email", "bench@example.test"], env=env, check=True,
                   capture_output=True)
    subprocess.run([sys.executable, "-c", _ADD_MANY, str(pebble.http_port), str(count), str(SETUP_CONCURRENCY)],
                   env=env, check=True)
    start = time.perf_counter()
    done = subprocess.run([*zt, "renew", "--force"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"renew --force failed: {done.stderr[-600:]}")
    log(f"issued {count} in {time.perf_counter() - start:.1f} s")
    return env


def one_pass(env: dict[str, str], code: Path, rate: str, pebble_pid: int) -> dict[str, Any]:
    """One refresh_due pass of ``code``'s package; its figures plus Pebble's CPU during it."""
    pebble_before = proc_cpu(pebble_pid)
    # Not run from a checkout: `python -c` puts the working folder first on sys.path, before PYTHONPATH.
    done = subprocess.run([sys.executable, "-c", _PASS, rate], env={**env, "PYTHONPATH": str(code)},
                          capture_output=True, text=True, cwd=tempfile.gettempdir())
    if done.returncode != 0:
        raise RuntimeError(f"pass failed: {done.stderr[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["pebble_cpu_s"] = round(proc_cpu(pebble_pid) - pebble_before, 3)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", default="0", help="look-ups per second for the new code; '' keeps its default")
    parser.add_argument("--baseline", type=Path, default=None)
    args = parser.parse_args()
    from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer

    work = Path(tempfile.mkdtemp(prefix="zt-bench-ari-"))
    pebble = PebbleServer(work / "pebble", PebbleOptions(nonce_reject=0, va_nosleep=True)).start()
    try:
        if not pebble.has_ari():
            raise SystemExit("this Pebble has no renewalInfo: install Pebble 2.6 (.ci/install-pebble)")
        env = seed(pebble, work / "home", args.count)
        variants = {"new": (ROOT, args.rate)}
        if args.baseline is not None:
            variants["baseline"] = (args.baseline.resolve(), "")
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for i in range(args.runs):
            order = list(variants.items())
            for name, (code, rate) in order[i % 2:] + order[:i % 2]:
                runs[name].append(one_pass(env, code, rate, pebble._procs[-1].pid))
                log(f"{name}: {runs[name][-1]}")
    finally:
        pebble.stop()
    summary = {name: {"median_cpu_s": statistics.median(r["cpu_s"] for r in rs),
                      "median_wall_s": statistics.median(r["wall_s"] for r in rs),
                      "median_pebble_cpu_s": statistics.median(r["pebble_cpu_s"] for r in rs),
                      "cpu_ms_per_lookup": round(1000 * statistics.median(r["cpu_s"] for r in rs) / args.count, 3),
                      "runs": rs} for name, rs in runs.items()}
    print(json.dumps({"count": args.count, "rate": args.rate, "load_average": os.getloadavg(),
                      "variants": summary}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
