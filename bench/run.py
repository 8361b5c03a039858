"""Run every benchmark and write bench/results.json and bench/ratios.svg.

    .venv/bin/python bench/run.py                 # everything (about 30 minutes; lego is slow)
    .venv/bin/python bench/run.py --quick         # 3 runs, lego only in scenario a (a few minutes)
    .venv/bin/python bench/run.py --only a,b,e --peers uacme

Parts: ``startup`` (the floor: interpreter, libraries, our CLI), ``a``-``d`` (bench_issue.py: issuance and
renewal against uacme, certbot and lego on one local Pebble), ``e`` (bench_list.py: list --json over 1,000
certificates), ``dashboard`` (bench/dashboard.py, the UI developer's paint/idle/RSS benchmark, when present).

uacme trusts only the system CA bundle. As root, this script re-executes itself inside a private mount
namespace (``unshare --mount --propagation private``) and bind-mounts "system bundle + Pebble's CA" over
/etc/ssl/certs/ca-certificates.crt there only: the host's file is never written, and the mount is gone when
the runner exits. Without root or unshare, uacme is skipped and results.json says why.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_issue import add_arguments, limits_from, run_issue_benchmarks  # noqa: E402
from bench_list import run_fake_list_benchmark, run_list_benchmark  # noqa: E402
from bench_renew import run_renew_benchmark, run_simulation  # noqa: E402
from chart import write_chart  # noqa: E402
from common import NS_ENV, PEBBLE_ARI, ROOT, VENV_PY, UacmeTrust, log, machine_facts, write_json  # noqa: E402
from startup import run_startup  # noqa: E402

DASHBOARD = HERE / "dashboard.py"


def reexec_in_namespace() -> str:
    """Re-run this script in a private mount namespace (root only); returns why not when it cannot."""
    if os.environ.get(NS_ENV) == "1":
        return ""
    if os.geteuid() != 0:
        return "not root: cannot make a private mount namespace for uacme's trust"
    if not shutil.which("unshare"):
        return "unshare(1) missing"
    probe = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True)
    if probe.returncode != 0:
        return f"unshare --mount failed: {probe.stderr.decode(errors='replace').strip()}"
    env = {**os.environ, NS_ENV: "1"}
    os.execvpe("unshare", ["unshare", "--mount", "--propagation", "private", sys.executable, __file__,
                           *sys.argv[1:]], env)
    return "exec failed"  # pragma: no cover


def compile_package() -> None:
    """Byte-compile the package, as `pip install` does: measure what a user runs, not the compiler.

    (This session's environment sets PYTHONDONTWRITEBYTECODE; an installed package has its .pyc files.)
    """
    subprocess.run([str(VENV_PY), "-m", "compileall", "-q", str(ROOT / "zerossl_tui")], check=True)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def run_dashboard_hook() -> dict[str, Any]:
    """bench/dashboard.py (its defaults: 1,000 certificates, 20 s idle) prints one JSON object on stdout;
    we keep it as results['dashboard']."""
    if not DASHBOARD.exists():
        return {"status": "hook: bench/dashboard.py not present yet (it is the UI developer's); "
                          "when it exists, run.py runs it and stores its JSON here"}
    log("dashboard: bench/dashboard.py")
    done = subprocess.run([str(VENV_PY), str(DASHBOARD)], capture_output=True, text=True, timeout=1800, cwd=ROOT)
    if done.returncode != 0:
        return {"status": f"failed: exit {done.returncode}: {done.stderr.strip()[-600:]}"}
    text = done.stdout.strip()
    for candidate in (text, text.splitlines()[-1] if text else ""):
        try:
            return {"status": "ok", "results": json.loads(candidate)}
        except ValueError:
            continue
    return {"status": "ok (stdout was not JSON)", "stdout": text[-2000:]}


def summary_rows(results: dict[str, Any]) -> list[str]:
    """A plain-text table of the medians and ratios, for the terminal and the report."""
    rows = ["scenario | tool | median s | ours/peer (median of run-by-run ratios) | target"]
    for key, section in results.get("scenarios", {}).items():
        target = section.get("target", {})
        ratios = section.get("ratios_ours_over_peer", {})
        for tool, data in section.get("tools", {}).items():
            med = data.get("median_s_scaled", data.get("median_s"))
            note = f" (x{data['scaled_by']:g} of {data['median_s']})" if "scaled_by" in data else ""
            mark = ""
            if target.get("peer") == tool:
                mark = f"<= {target['max_ratio']}: {'met' if target.get('met') else 'NOT met'}"
            elif key == "e" and tool == "zerossl-tui":
                mark = f"<= {target.get('max_seconds')} s: {'met' if target.get('met') else 'NOT met'}"
            ratio = ratios.get(tool, {}).get("median")
            rows.append(f"{key} | {tool} | {med}{note} | {'' if ratio is None else ratio} | {mark}")
        for label, ratio in ratios.items():
            if "[" in label:
                rows.append(f"{key} | {label} | | {ratio.get('median')} |")
    return rows


def merge(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``old`` with every part that ``new`` measured replaced; each scenario notes when it was measured."""
    merged = dict(old)
    for key in ("startup", "dashboard", "simulation"):
        if key in new:
            merged[key] = new[key]
    merged["scenarios"] = {**old.get("scenarios", {}), **new.get("scenarios", {})}
    merged.setdefault("runs_merged", []).append({"date": new["machine"]["date"], "command": new["config"]["command"],
                                                 "parts": sorted([*new.get("scenarios", {}), *(
                                                     k for k in ("startup", "dashboard") if k in new)]),
                                                 "load_average_at_start": new["machine"]["load_average_at_start"]})
    merged["summary"] = summary_rows(merged)
    return merged


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    parser.set_defaults(only="startup,a,b,c,d,e,e10k,r,sim,dashboard")
    parser.add_argument("--quick", action="store_true", help="3 runs; lego only in scenario a; e over 200")
    parser.add_argument("--list-count", type=int, default=1000, help="certificates for scenario e")
    parser.add_argument("--renew-many-count", type=int, default=1000, help="certificates for scenario r")
    parser.add_argument("--baseline", type=Path, default=None,
                        help="e10k: also time the package of this other checkout, interleaved")
    parser.add_argument("--out", type=Path, default=HERE, help="folder for results.json and ratios.svg")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--merge", action="store_true",
                        help="update the parts run now in an existing results.json, keep the others")
    args = parser.parse_args()
    PEBBLE_ARI["value"] = args.pebble_ari
    only = set(args.only.split(","))
    peers = [p for p in args.peers.split(",") if p]
    if args.quick:
        args.runs, args.list_count = 3, min(args.list_count, 200)
    no_uacme = reexec_in_namespace() if "uacme" in peers else ""
    if no_uacme:
        log(f"uacme skipped: {no_uacme}")
        peers.remove("uacme")
    compile_package()
    work = args.work or Path(tempfile.mkdtemp(prefix="zt-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results: dict[str, Any] = {"machine": machine_facts(), "config": {
        "runs": args.runs, "peers": peers, "uacme_skipped_because": no_uacme or None,
        "pebble_options": f"PebbleOptions(nonce_reject=0, va_nosleep=True, authz_reuse=0, "
                          f"prefer_ari={args.pebble_ari})",
        "method": "wall time of each tool's process (or loop of processes), tools interleaved run by run in a "
                  "rotating order on the same Pebble, ratio = ours_i / peer_i per run i, median of the ratios",
        "uacme_trust": "private mount namespace; system bundle + Pebble CA bind-mounted over "
                       "/etc/ssl/certs/ca-certificates.crt inside it only" if "uacme" in peers else None,
        "bytecode": "package byte-compiled before timing (compileall), PYTHONDONTWRITEBYTECODE removed",
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }}
    try:
        if "startup" in only:
            log("startup: the floor")
            results["startup"] = run_startup(20 if not args.quick else 9)
        issue_parts = only & {"a", "b", "c", "d"}
        if issue_parts:
            limits = limits_from(args)
            if args.quick:
                peers_quick = [p for p in peers if p != "lego"]
                results_abcd = run_issue_benchmarks(work, runs=args.runs, only=issue_parts & {"a"}, peers=peers,
                                                    limits=limits, certbot_n=args.certbot_renew_n,
                                                    lego_n=args.lego_renew_n, renew_count=args.renew_count,
                                                    trust=UacmeTrust() if UacmeTrust.possible() else None)
                rest = run_issue_benchmarks(work, runs=args.runs, only=issue_parts - {"a"}, peers=peers_quick,
                                            limits=limits, certbot_n=args.certbot_renew_n,
                                            lego_n=args.lego_renew_n, renew_count=args.renew_count,
                                            trust=UacmeTrust() if UacmeTrust.possible() else None)
                results_abcd["scenarios"].update(rest["scenarios"])
                results_abcd["pebble_binaries"] = sorted(set(results_abcd["pebble_binaries"])
                                                         | set(rest["pebble_binaries"]))
            else:
                results_abcd = run_issue_benchmarks(work, runs=args.runs, only=issue_parts, peers=peers,
                                                    limits=limits, certbot_n=args.certbot_renew_n,
                                                    lego_n=args.lego_renew_n, renew_count=args.renew_count,
                                                    trust=UacmeTrust() if UacmeTrust.possible() else None)
            for section in results_abcd["scenarios"].values():
                section["measured"] = results["machine"]["date"]
            results["scenarios"] = results_abcd["scenarios"]
            binaries = results_abcd["pebble_binaries"]
            if binaries:
                results["machine"] = machine_facts(binaries[0])
        if "e" in only:
            results.setdefault("scenarios", {})["e"] = run_list_benchmark(
                work, count=args.list_count, runs=10 if not args.quick else 5)
            results["scenarios"]["e"]["measured"] = results["machine"]["date"]
            if not results["machine"].get("pebble"):
                from common import start_pebble  # only for its version string

                probe = start_pebble(work / "pebble-version")
                probe.stop()
                results["machine"] = machine_facts(probe.binary)
        if "e10k" in only:
            results.setdefault("scenarios", {})["e10k"] = run_fake_list_benchmark(
                work, count=10000, runs=10 if not args.quick else 5, baseline=args.baseline)
            results["scenarios"]["e10k"]["measured"] = results["machine"]["date"]
        if "r" in only:
            results.setdefault("scenarios", {})["r"] = run_renew_benchmark(work, count=args.renew_many_count)
            results["scenarios"]["r"]["measured"] = results["machine"]["date"]
        if "sim" in only:
            results["simulation"] = run_simulation()
        if "dashboard" in only:
            results["dashboard"] = run_dashboard_hook()
    finally:
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        results["elapsed_s"] = round(time.monotonic() - started, 1)
        results["summary"] = summary_rows(results)
        args.out.mkdir(parents=True, exist_ok=True)
        if args.merge and (args.out / "results.json").exists():
            results = merge(json.loads((args.out / "results.json").read_text()), results)
        write_json(args.out / "results.json", results)
        write_chart(results, args.out / "ratios.svg")
        if not args.keep and args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(results["summary"]))
    print(f"\nwrote {args.out / 'results.json'} and {args.out / 'ratios.svg'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
