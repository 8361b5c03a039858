"""Dashboard benchmark: time to first full paint, idle CPU with live countdowns, RSS; against a bare Textual
DataTable of the same rows, interleaved run by run.

    python bench/dashboard.py [--count 1000] [--idle 30] [--settle 10] [--runs 5] [--no-scheduler]
                              [--after-pass] [--sample FILE-PREFIX]

``--after-pass`` seeds every certificate's renewal state as a finished first ARI pass leaves it (answered,
next question in 6 hours), so the idle window is measured after the pass; without it, at 10,000 the window
falls inside the first pass (about 2.4 hours since pacing by need). ``--sample`` profiles the dashboard's
idle window in-process (``cpu_sampler.py``: CPU per thread and stack; it adds its own cost, about 1% of a
core at its 20 ms interval, reported apart as ``sampler_cpu_s``: take idle figures from a run without it).

The dashboard runs as a user runs it: in a real terminal (a detached tmux session, 160x50), as a separate
process, with the auto-renew scheduler ON (``--no-scheduler`` turns it off, as earlier versions of this
benchmark did). Its provider is a local Pebble started here, so the scheduler's first turn (settings
reload, heal, ARI, the due check) talks to a real CA on loopback; nothing is due (every certificate has 60
to 84 of its 90 days left), so no order runs while the figures are taken.

The bare app is a plain Textual ``App`` with one ``DataTable`` showing the same rows (name, domains,
provider, status, expiry, next renewal, as `list --json` gives them), read from a JSON file: what
"painting a table of N rows" costs in Textual itself. ``ratio`` is the dashboard's first paint over the bare
app's, run by run, median.

Seeding: one settings write (build_certificate per certificate, one save_settings), then one stored
version (placeholder PEMs, real metadata) and one finished order per certificate through the service's
store and journal, with ``os.fsync`` switched off in this (seeding) process only: a benchmark store, not a
user's. With fsync, 10,000 certificates took 16 minutes on the loaded benchmark machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = time.perf_counter()
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's package, here and (PYTHONPATH) in the measured processes


def seed(root: Path, count: int, directory: str, ca_bundle: str) -> float:
    """Settings with ``count`` certificates at provider ``local`` (``directory``), one stored version and
    one finished order each, and the bare app's rows; returns the seconds it took."""
    from dataclasses import replace

    began = time.perf_counter()
    os.environ["ZEROSSL_TUI_CONFIG"] = str(root / "settings.toml")
    os.environ["ZEROSSL_TUI_DATA_DIR"] = str(root / "data")
    from zerossl_tui.core.validate import build_certificate
    from zerossl_tui.devtools.demo import LIFETIME, store_fake
    from zerossl_tui.service.service import CertificateService
    from zerossl_tui.storage.settings_file import save_settings

    fsync, os.fsync = os.fsync, lambda fd: None  # the seeding process only
    try:
        service = CertificateService()
        service.set_provider("local", directory=directory, ca_bundle=ca_bundle or None,
                             email="bench@example.test")
        names = [f"site{index:05d}" for index in range(count)]
        specs = {name: build_certificate(name, [f"{name}.example.com", f"www.{name}.example.com"], "local", None)
                 for name in names}
        save_settings(service.paths, replace(service.reload(), certificates=specs))
        service.reload()
        now = datetime.now(UTC)
        for index, name in enumerate(names):
            # Spread over 60..84 days left of 90: all valid, none due, every countdown different.
            not_after = now + timedelta(days=60, minutes=index * 2, seconds=index * 7)
            store_fake(service, name, (f"{name}.example.com",), not_after, f"{index + 1:012X}")
            order = service.journal.start_order(name, not_after - LIFETIME)
            service.journal.finish_order(order, "issued", not_after - LIFETIME, serial=f"{index + 1:012X}")
        if ANSWERED:
            answer_all(service, names, now)
        write_bare_rows(service, root / "rows.json")
    finally:
        os.fsync = fsync
    return time.perf_counter() - began


def answer_all(service: Any, names: list[str], now: datetime) -> None:
    """``--after-pass``: every certificate's renewal state as a finished ARI pass leaves it (a window in the
    last third of its lifetime, a moment chosen in it, the next question in 6 hours, Let's Encrypt's
    Retry-After): the dashboard is measured after the first pass instead of during it."""
    from zerossl_tui.core.models import RenewalState

    states = {}
    for index, name in enumerate(names):
        start = now + timedelta(days=30, minutes=index * 2)
        states[name] = RenewalState(ari_window_start=start, ari_window_end=start + timedelta(days=2),
                                    ari_chosen=start + timedelta(hours=index % 48),
                                    ari_retry_at=now + timedelta(hours=6))
    service.journal.put_states(states)


def write_bare_rows(service: Any, path: Path) -> None:
    """The rows the bare app shows: the dashboard's columns, as text."""
    rows = [[v.spec.name, " ".join(v.spec.domains), v.spec.provider, v.status.value,
             v.info.not_after.isoformat(timespec="seconds") if v.info else "-",
             v.next_renewal.isoformat(timespec="seconds") if v.next_renewal else "-"] for v in service.views()]
    path.write_text(json.dumps(rows))


def bare_child(out: Path, rows_file: Path) -> None:
    """A bare Textual app: one DataTable with the same rows; reports its first full paint like ``child``."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("Name", "Domains", "Provider", "Status", "Not after", "Next renewal")
            table.add_rows(json.loads(rows_file.read_text()))
            self.call_after_refresh(self.painted_now)

        def painted_now(self) -> None:
            out.write_text(json.dumps({"pid": os.getpid(), "first_paint": time.perf_counter() - START,
                                       "rows": self.query_one(DataTable).row_count}))

    Bare().run()


def child(out: Path, scheduler: bool) -> None:
    """Run the dashboard; write the time of the first full paint (table filled and drawn) to ``out``."""
    from zerossl_tui.service.service import CertificateService
    from zerossl_tui.ui.app import Dashboard
    from zerossl_tui.ui.messages import ViewsLoaded

    class Bench(Dashboard):
        painted = False

        def on_views_loaded(self, message: ViewsLoaded) -> None:
            super().on_views_loaded(message)
            if not self.painted:
                self.painted = True
                self.call_after_refresh(self.painted_now)

        def painted_now(self) -> None:
            out.write_text(json.dumps({"pid": os.getpid(), "first_paint": time.perf_counter() - START,
                                       "rows": self.table.row_count}))
            start_sampler()

    Bench(CertificateService(), autorenew=scheduler).run()


def start_sampler() -> None:
    """With ``ZT_BENCH_SAMPLE=file:after:seconds`` (``--sample``): sample where this process's CPU goes
    (``cpu_sampler.py``) for the idle window, starting ``after`` seconds from now."""
    spec = os.environ.get("ZT_BENCH_SAMPLE")
    if not spec:
        return
    import threading

    from cpu_sampler import CpuSampler

    file, after, seconds = spec.rsplit(":", 2)
    sampler = CpuSampler(Path(file), float(seconds))
    threading.Timer(float(after), sampler.start).start()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def start(root: Path, run: int, mode: str) -> tuple[str, Path]:
    """Start the dashboard (``mode`` scheduler, no-scheduler) or the bare app in a detached tmux session;
    returns (session, file it reports to)."""
    config, data, out = root / "settings.toml", root / "data", root / f"paint-{mode}-{run}.json"
    env = (f"ZEROSSL_TUI_CONFIG={shlex.quote(str(config))} ZEROSSL_TUI_DATA_DIR={shlex.quote(str(data))} "
           f"PYTHONPATH={shlex.quote(str(ROOT))}")
    if SAMPLE and mode != "bare":
        env += f" ZT_BENCH_SAMPLE={shlex.quote(f'{SAMPLE}-{run}.json:{SETTLE}:{IDLE}')}"
    command = (f"{env} TERM=xterm-256color {shlex.quote(sys.executable)} {shlex.quote(__file__)} "
               f"--child {out} --mode {mode} --rows {shlex.quote(str(root / 'rows.json'))}")
    session = f"zt-bench-{os.getpid()}-{mode}-{run}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command], check=True)
    return session, out


def stop(session: str) -> None:
    """Quit the dashboard (q), then make sure the session is gone."""
    subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
    time.sleep(1)
    subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


def wait_report(out: Path, timeout: float = 180.0) -> dict[str, float]:
    """The child's report, once written."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return dict(json.loads(out.read_text()))
        except (OSError, ValueError):  # not there yet, or caught half written
            time.sleep(0.05)
    return dict(json.loads(out.read_text()))


ANSWERED = False  # --after-pass: seed the states a finished first ARI pass leaves
SAMPLE = ""  # --sample: where the dashboard's sampled CPU profile goes (one file per run)
IDLE = 30.0  # --idle
SETTLE = 10.0  # seconds before the idle figures: the first refreshes and the scheduler's first turn (--settle)


def idle_figures(pid: int, idle: float) -> tuple[float, float]:
    """(CPU percent of one core, RSS MB) of the idle dashboard over ``idle`` seconds."""
    time.sleep(SETTLE)
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    time.sleep(idle)
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    return cpu * 100, rss_mb(pid)


def measure(root: Path, count: int, idle: float, runs: int, scheduler: bool) -> dict[str, object]:
    """Seed once; ``runs`` cold starts of the dashboard and of the bare app, interleaved (the order rotated
    each run); idle CPU and RSS sampled on the last run of each."""
    pebble = start_pebble(root / "pebble") if scheduler else None
    try:
        seeding = seed(root, count, pebble.directory if pebble else "https://127.0.0.1:9/dir",
                       str(pebble.ca_bundle) if pebble else "")
        mode = "scheduler" if scheduler else "no-scheduler"
        figures = {name: {"paints": [], "cpu": 0.0, "rss": 0.0, "rows": 0} for name in (mode, "bare")}
        for run in range(runs):
            order = [mode, "bare"] if run % 2 == 0 else ["bare", mode]
            for name in order:
                one_run(root, run, name, figures[name], idle if run == runs - 1 else 0.0)
    finally:
        if pebble is not None:
            pebble.stop()
    return summary(figures, mode, count, seeding, runs, idle)


def start_pebble(workdir: Path) -> Any:
    """A local Pebble for the scheduler's provider (no validation sleep)."""
    from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer

    return PebbleServer(workdir, PebbleOptions(va_nosleep=True)).start()


def one_run(root: Path, run: int, name: str, into: dict[str, Any], idle: float) -> None:
    """One cold start of ``name``: its first paint, and with ``idle`` its idle CPU and RSS."""
    session, out = start(root, run, name)
    try:
        report = wait_report(out)
        into["paints"].append(report["first_paint"])
        into["rows"] = int(report["rows"])
        if idle:
            into["cpu"], into["rss"] = idle_figures(int(report["pid"]), idle)
    finally:
        stop(session)


def summary(figures: dict[str, dict[str, Any]], mode: str, count: int, seeding: float, runs: int,
            idle: float) -> dict[str, object]:
    """The JSON this benchmark prints."""
    ours, bare = figures[mode], figures["bare"]
    ratios = [a / b for a, b in zip(ours["paints"], bare["paints"], strict=True)]
    return {"certificates": count, "scheduler": mode == "scheduler", "rows": ours["rows"],
            "seed_s": round(seeding, 2), "runs": runs,
            "first_paint_s_median": round(statistics.median(ours["paints"]), 3),
            "first_paint_s_min": round(min(ours["paints"]), 3),
            "first_paint_s_all": [round(p, 3) for p in ours["paints"]],
            "bare_datatable": {"rows": bare["rows"],
                               "first_paint_s_median": round(statistics.median(bare["paints"]), 3),
                               "first_paint_s_all": [round(p, 3) for p in bare["paints"]],
                               "idle_cpu_percent": round(bare["cpu"], 2), "rss_mb": round(bare["rss"], 1)},
            "ratio_over_bare_median": round(statistics.median(ratios), 2),
            "ratio_over_bare_all": [round(r, 2) for r in ratios],
            "idle_seconds": idle, "settle_seconds": SETTLE, "after_first_ari_pass": ANSWERED,
            "idle_cpu_percent": round(ours["cpu"], 2), "rss_mb": round(ours["rss"], 1),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> int:
    """Parse options, run the measurement, print JSON."""
    global SETTLE, SAMPLE, IDLE, ANSWERED
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU sampling")
    parser.add_argument("--runs", type=int, default=5, help="cold starts timed for the first paint")
    parser.add_argument("--no-scheduler", action="store_true", help="auto-renew off (as before: no CA needed)")
    parser.add_argument("--settle", type=float, default=SETTLE, help="seconds after the paint before idle")
    parser.add_argument("--after-pass", action="store_true",
                        help="measure after the first ARI pass (every certificate answered), not during it")
    parser.add_argument("--sample", default="", help="file prefix: profile the dashboard's idle window there")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="scheduler", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.mode == "bare":
            bare_child(args.child, args.rows)
        else:
            child(args.child, args.mode == "scheduler")
        return 0
    SETTLE, SAMPLE, IDLE, ANSWERED = args.settle, args.sample, args.idle, args.after_pass
    if shutil.which("tmux") is None:
        print("bench/dashboard.py needs tmux (a real terminal for the dashboard)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(Path(tmp), args.count, args.idle, max(1, args.runs), not args.no_scheduler)
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
