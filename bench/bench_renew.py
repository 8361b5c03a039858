"""`zerossl-tui renew` of 1,000 due certificates on one Pebble at its DEFAULT 5% nonce rejection (scenario r).

Unlike scenarios a-d (no nonce rejection, to be fair to peers), this one keeps Pebble's default 5% bad
nonces, with PEBBLE_VA_NOSLEEP: the goal is throughput with zero failures. The certificates are added in
one settings write (as in bench_list.py) and never issued, so all are due; ONE `zerossl-tui renew` (default
settings) is timed as a process, then a second `renew --force` over the same, now issued, certificates.
Besides wall time it reports our process's CPU time and Pebble's (from /proc), i.e. where the time goes.
Run alone: ``.venv/bin/python bench/bench_renew.py [--count 1000] [--rounds 1]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_PY, ZT, Ours, log, run_process  # noqa: E402

RENEW_TARGET_PER_S = 30.0

_ADD_MANY = """
import sys
from dataclasses import replace
from zerossl_tui.core.validate import build_certificate
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.settings_file import save_settings
service = CertificateService()
port, count = int(sys.argv[1]), int(sys.argv[2])
settings = service.reload()
specs = {f"r{k:05d}": build_certificate(f"r{k:05d}", [f"r{k:05d}.zt.example.test"], "local", None,
                                        http_port=port, http_bind="127.0.0.1") for k in range(count)}
save_settings(service.paths, replace(settings, certificates={**settings.certificates, **specs}))
"""


def pid_cpu(pids: list[int]) -> float:
    """user + system seconds of these processes so far (from /proc; 0 for one that is gone)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def start_default_pebble(workdir: Path, prefer_ari: bool) -> Any:
    """Pebble with its default nonce rejection (5%) and no validation sleep."""
    from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer

    return PebbleServer(workdir, PebbleOptions(va_nosleep=True, prefer_ari=prefer_ari)).start()


def timed_renew(ours: Ours, pebble: Any, args: list[str], count: int) -> dict[str, Any]:
    """One renew process: wall, our CPU, Pebble's CPU, results checked with list --json."""
    pids = [p.pid for p in pebble._procs]  # noqa: SLF001 - a benchmark reading its own child's CPU
    ca_before = pid_cpu(pids)
    run, done = run_process([str(ZT), "renew", *args], ours.env, timeout=3600)
    ca_cpu = pid_cpu(pids) - ca_before
    rows = json.loads(ours.cli("list", "--json").stdout)
    valid = sum(1 for r in rows if r["status"] == "valid")
    failed = sum(1 for line in (done.stdout + done.stderr).splitlines() if "fail" in line.lower())
    return {"args": " ".join(["renew", *args]), "seconds": round(run.seconds, 3), "ok": run.ok,
            "per_second": round(count / run.seconds, 2), "our_cpu_s": round(run.cpu, 2),
            "pebble_cpu_s": round(ca_cpu, 2), "valid_after": valid, "failure_lines": failed,
            "detail": run.detail}


def run_renew_benchmark(work: Path, *, count: int = 1000, rounds: int = 1, prefer_ari: bool = False
                        ) -> dict[str, Any]:
    """Scenario r; returns its section of results.json."""
    import os

    log(f"r: renew of {count} due certificates (Pebble default 5% nonce rejection)")
    runs: list[dict[str, Any]] = []
    for round_no in range(rounds):
        pebble = start_default_pebble(work / f"pebble-r{round_no}", prefer_ari)
        ours = Ours("zerossl-tui", pebble, work / f"r-ours-{round_no}")
        try:
            ours.setup()
            done = subprocess.run([str(VENV_PY), "-c", _ADD_MANY, str(pebble.http_port), str(count)],
                                  env=ours.env, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"adding {count} certificates failed: {done.stderr[-600:]}")
            load = [round(x, 2) for x in os.getloadavg()]
            first = timed_renew(ours, pebble, [], count)
            log(f"  renew (all due)   {first['seconds']:.2f} s = {first['per_second']}/s, "
                f"valid {first['valid_after']}/{count}, load {load}")
            time.sleep(1)  # every certificate now has a notBefore in the past second at least
            second = timed_renew(ours, pebble, ["--force"], count)
            log(f"  renew --force     {second['seconds']:.2f} s = {second['per_second']}/s, "
                f"valid {second['valid_after']}/{count}")
            runs.append({"load_average": load, "due": first, "forced": second})
        finally:
            pebble.stop()
    rates = sorted(r["due"]["per_second"] for r in runs if r["due"]["ok"])
    best = rates[len(rates) // 2] if rates else None
    return {
        "title": f"`zerossl-tui renew` of {count} due certificates, Pebble default 5% nonce rejection",
        "count": count, "prefer_ari": prefer_ari, "runs": runs,
        "target": {"min_per_second": RENEW_TARGET_PER_S, "per_second": best,
                   "met": best is not None and best >= RENEW_TARGET_PER_S
                   and all(r["due"]["valid_after"] == count for r in runs)},
    }


def run_simulation() -> dict[str, Any]:
    """The simulated year of 10,000 certificates under Let's Encrypt's order limit (the slow test's numbers)."""
    from datetime import timedelta

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from test_renewal_simulation import LE_WINDOW, START, OrderBucket, simulate_year

    log("sim: a year of 10,000 certificates, Let's Encrypt's 300 new orders per 3 hours")
    started = time.perf_counter()
    year = simulate_year(10_000, seed=11, limit=OrderBucket())
    return {"certificates": 10_000, "limit": "Let's Encrypt New Orders per Account: 300 per 3 hours, a token "
            "bucket refilled 1 per 36 s (letsencrypt.org/docs/rate-limits)", "expired": year.expired,
            "attempts": year.orders, "orders_created": len(year.created), "refused_by_limit": year.refused,
            "onboarding_hours": round((year.onboarded - START) / timedelta(hours=1), 1),
            "most_created_in_any_3h": year.most_created_within(LE_WINDOW, START),
            "most_created_in_any_hour_after_onboarding": year.most_created_within(
                timedelta(hours=1), year.onboarded + timedelta(days=1)),
            "busiest_hour_of_attempts_after_day_one": year.busiest,
            "seconds": round(time.perf_counter() - started, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--pebble-ari", action="store_true")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="zt-bench-renew-"))
    result = run_renew_benchmark(work, count=args.count, rounds=args.rounds, prefer_ari=args.pebble_ari)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
