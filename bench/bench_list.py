"""`zerossl-tui list --json` over 1,000 real certificates (scenario e).

The store is made the real way: 1,000 certificates added through the service API, then issued against a
local Pebble in ONE `zerossl-tui renew --force` call (concurrency raised to 16 for that set-up only, which
is timed and reported too). Then `list --json` (and the plain table) runs as a process, median of N runs.
Run alone: ``.venv/bin/python bench/bench_list.py [--count 1000] [--runs 10]``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_PY, ZT, Ours, log, run_process, start_pebble, stats  # noqa: E402

LIST_TARGET_S = 1.0  # issue 14: list --json of 10,000 in at most 1.0 s
SETUP_CONCURRENCY = 16

# --fake: placeholder versions through the store (devtools.demo.seed_many), expiring over 90 days, each with a
# finished order in the journal. The seeding process skips fsync (a benchmark store, not a user's): with
# fsync, 10,000 certificates took 16 minutes on the loaded benchmark machine.
_SEED = """
import os, sys
from datetime import UTC, datetime
os.fsync = lambda fd: None
from zerossl_tui.devtools.demo import seed_many
from zerossl_tui.service.service import CertificateService
service = CertificateService()
service.set_provider("local", directory="https://127.0.0.1:14000/dir", email="bench@example.test")
seed_many(service, int(sys.argv[1]), datetime.now(UTC))
"""

# The same validation and atomic save as CertificateService.add_certificate, in one settings write: adding
# 1,000 one by one rewrites the file 1,000 times (about 100 s here), which measures nothing of interest.
_ADD_MANY = """
import sys
from zerossl_tui.core.settings import with_certificate
from zerossl_tui.core.validate import build_certificate
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.settings_file import save_settings
service = CertificateService()
port, count = int(sys.argv[1]), int(sys.argv[2])
service.update_table("renewal", {"concurrency": int(sys.argv[3])})
settings = service.reload()
for k in range(count):
    name = f"e{k:04d}"
    spec = build_certificate(name, [f"{name}.zt.example.test"], "local", None, http_port=port,
                             http_bind="127.0.0.1")
    settings = with_certificate(settings, spec)
save_settings(service.paths, settings)
"""


def run_fake_list_benchmark(work: Path, *, count: int = 10000, runs: int = 10, baseline: Path | None = None
                            ) -> dict[str, Any]:
    """Scenario e10k: list over ``count`` seeded certificates; with ``baseline`` (another checkout), that
    code too, interleaved run by run (PYTHONPATH picks the package). Each variant lists its own copy of
    the store: the parsed settings copy's key covers the code, so two checkouts sharing one folder would
    throw each other's copy away at every run and both would be timed parsing settings.toml."""
    import os

    home = work / f"e-fake-{count}"
    if not (home / "settings.toml").exists():
        log(f"e10k: seeding {count} certificates")
        started = time.perf_counter()
        subprocess.run([str(VENV_PY), "-c", _SEED, str(count)], env=_store_env(home), check=True)
        log(f"  seeded in {time.perf_counter() - started:.1f} s")
    ours = os.environ.get("PYTHONPATH") or str(Path(__file__).resolve().parent.parent)
    variants = {"zerossl-tui": (ours, _store_env(home))}
    if baseline is not None:
        copy = work / f"e-fake-{count}-baseline"
        if not copy.exists():
            shutil.copytree(home, copy, symlinks=True)
        variants[f"zerossl-tui (baseline {baseline.name})"] = (str(baseline), _store_env(copy))
    timings: dict[str, Any] = {}
    for label, args in (("list --json", ["list", "--json"]), ("list", ["list"])):
        for path, env in variants.values():  # one untimed run: builds the caches, as any first run does
            run_process([str(VENV_PY), "-m", "zerossl_tui", *args], {**env, "PYTHONPATH": path}, cwd=work)
        results: dict[str, list[Any]] = {name: [] for name in variants}
        for i in range(runs):
            order = list(variants.items())
            for name, (path, env) in order[i % 2:] + order[:i % 2]:
                cmd = [str(VENV_PY), "-m", "zerossl_tui", *args]
                run, _done = run_process(cmd, {**env, "PYTHONPATH": path}, cwd=work)
                results[name].append(run)
        for name in variants:
            timings[f"{name} {label}"] = stats(results[name])
            log(f"  {name} {label:<12} median {timings[f'{name} {label}']['median_s']:.3f} s wall, "
                f"{timings[f'{name} {label}']['median_cpu_s']:.3f} s CPU")
    got = timings["zerossl-tui list --json"]["median_s"]
    return {"title": f"`zerossl-tui list --json` over {count} seeded certificates", "count": count,
            "load_average_after": [round(x, 2) for x in os.getloadavg()], "tools": timings,
            "target": {"max_seconds": LIST_TARGET_S, "seconds": got,
                       "cpu_seconds": timings["zerossl-tui list --json"]["median_cpu_s"],
                       "met": got is not None and got <= LIST_TARGET_S}}


def _store_env(home: Path) -> dict[str, str]:
    import os

    return {**os.environ, "ZEROSSL_TUI_CONFIG": str(home / "settings.toml"),
            "ZEROSSL_TUI_DATA_DIR": str(home / "data")}


def run_list_benchmark(work: Path, *, count: int = 1000, runs: int = 10) -> dict[str, Any]:
    """Scenario e; returns its section of results.json."""
    log(f"e: list --json over {count} certificates")
    pebble = start_pebble(work / "pebble-e")
    ours = Ours("zerossl-tui", pebble, work / "e-ours")
    setup: dict[str, float] = {}
    try:
        ours.setup()
        start = time.perf_counter()
        done = subprocess.run([str(VENV_PY), "-c", _ADD_MANY, str(pebble.http_port), str(count),
                               str(SETUP_CONCURRENCY)], env=ours.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"adding {count} certificates failed: {done.stderr[-600:]}")
        setup["add_s"] = round(time.perf_counter() - start, 2)
        log(f"  added {count} in {setup['add_s']} s; issuing them in one renew --force")
        start = time.perf_counter()
        ours.cli("renew", "--force", timeout=7200)
        setup["issue_all_s"] = round(time.perf_counter() - start, 2)
        log(f"  issued {count} in {setup['issue_all_s']} s")
    finally:
        pebble.stop()  # listing needs no CA
    rows = json.loads(ours.cli("list", "--json").stdout)
    valid = sum(1 for r in rows if r["status"] == "valid")
    if len(rows) != count or valid != count:
        raise RuntimeError(f"list shows {len(rows)} rows, {valid} valid; expected {count}")
    timings: dict[str, Any] = {}
    for label, args in (("list --json", ["list", "--json"]), ("list", ["list"])):
        results = []
        for _ in range(runs):
            run, _done = run_process([str(ZT), *args], ours.env)
            results.append(run)
        timings[label] = stats(results)
        log(f"  {label:<12} median {timings[label]['median_s']:.3f} s")
    got = timings["list --json"]["median_s"]
    return {
        "title": f"`zerossl-tui list --json` over {count} certificates",
        "count": count,
        "setup": {**setup, "setup_concurrency": SETUP_CONCURRENCY,
                  "issue_per_cert_s": round(setup["issue_all_s"] / count, 4)},
        "tools": {"zerossl-tui": timings["list --json"], "zerossl-tui (table)": timings["list"]},
        "target": {"max_seconds": LIST_TARGET_S, "seconds": got, "met": got is not None and got <= LIST_TARGET_S},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--fake", action="store_true", help="seeded placeholder certificates (no Pebble)")
    parser.add_argument("--baseline", type=Path, default=None, help="--fake: also time this checkout's code")
    args = parser.parse_args()
    import tempfile

    work = args.work or Path(tempfile.mkdtemp(prefix="zt-bench-list-"))
    if args.fake:
        result = run_fake_list_benchmark(work, count=args.count, runs=args.runs, baseline=args.baseline)
    else:
        result = run_list_benchmark(work, count=args.count, runs=args.runs)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
