"""Dashboard benchmark: 1,000 certificates, time to first full paint, idle CPU with live countdowns, RSS.

    python bench/dashboard.py [--count 1000] [--idle 30] [--runs 5]

The dashboard runs in a real terminal (a detached tmux session, 160x50) as a separate process, over a
temporary settings file and data folder: the settings are written as a user would write them, and each
certificate gets a stored version (placeholder PEMs, real metadata) through the service's store. No
network is used: the scheduler is off (it would ask the CA for ARI) and nothing is due.
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

START = time.perf_counter()


def write_settings(config: Path, count: int) -> None:
    """settings.toml with ``count`` certificates (one write: the file format is the user contract)."""
    config.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(count):
        name = f"site{index:04d}"
        lines += [f"[certificates.{name}]", f'domains = ["{name}.example.com", "www.{name}.example.com"]',
                  'provider = "letsencrypt"', ""]
    config.write_text("\n".join(lines))


def seed(config: Path, data: Path, count: int) -> float:
    """Write settings and one stored version per certificate; returns the seconds it took."""
    began = time.perf_counter()
    os.environ["ZEROSSL_TUI_CONFIG"] = str(config)
    os.environ["ZEROSSL_TUI_DATA_DIR"] = str(data)
    write_settings(config, count)
    from zerossl_tui.devtools.demo import store_fake
    from zerossl_tui.service.service import CertificateService

    service = CertificateService()
    now = datetime.now(UTC)
    for index, name in enumerate(sorted(service.settings.certificates)):
        # Spread over 60..84 days left of 90: all valid, none due, every countdown different.
        not_after = now + timedelta(days=60, minutes=index * 2, seconds=index * 7)
        store_fake(service, name, (f"{name}.example.com",), not_after, f"{index + 1:012X}")
    return time.perf_counter() - began


def child(out: Path) -> None:
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

    Bench(CertificateService(), autorenew=False).run()


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


def start(root: Path, run: int) -> tuple[str, Path]:
    """Start the dashboard in a detached tmux session; returns (session, file it reports to)."""
    config, data, out = root / "settings.toml", root / "data", root / f"paint-{run}.json"
    env = f"ZEROSSL_TUI_CONFIG={shlex.quote(str(config))} ZEROSSL_TUI_DATA_DIR={shlex.quote(str(data))}"
    command = f"{env} TERM=xterm-256color {shlex.quote(sys.executable)} {shlex.quote(__file__)} --child {out}"
    session = f"zt-bench-{os.getpid()}-{run}"
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command], check=True)
    return session, out


def stop(session: str) -> None:
    """Quit the dashboard (q), then make sure the session is gone."""
    subprocess.run(["tmux", "send-keys", "-t", session, "q"], check=False)
    time.sleep(1)
    subprocess.run(["tmux", "kill-session", "-t", session], check=False, capture_output=True)


def wait_report(out: Path, timeout: float = 60.0) -> dict[str, float]:
    """The child's report, once written."""
    deadline = time.monotonic() + timeout
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return dict(json.loads(out.read_text()))


def idle_figures(pid: int, idle: float) -> tuple[float, float]:
    """(CPU percent of one core, RSS MB) of the idle dashboard over ``idle`` seconds."""
    time.sleep(3)  # let the first refreshes settle
    cpu_before, wall_before = cpu_seconds(pid), time.monotonic()
    time.sleep(idle)
    cpu = (cpu_seconds(pid) - cpu_before) / (time.monotonic() - wall_before)
    return cpu * 100, rss_mb(pid)


def measure(root: Path, count: int, idle: float, runs: int) -> dict[str, object]:
    """Seed once; ``runs`` cold starts for the first paint; idle CPU and RSS sampled on the last one."""
    seeding = seed(root / "settings.toml", root / "data", count)
    paints: list[float] = []
    cpu = rss = 0.0
    rows = 0
    for run in range(runs):
        session, out = start(root, run)
        try:
            report = wait_report(out)
            paints.append(report["first_paint"])
            rows = int(report["rows"])
            if run == runs - 1:
                cpu, rss = idle_figures(int(report["pid"]), idle)
        finally:
            stop(session)
    return {"certificates": count, "rows": rows, "seed_s": round(seeding, 2), "runs": runs,
            "first_paint_s_median": round(statistics.median(paints), 3),
            "first_paint_s_min": round(min(paints), 3), "first_paint_s_all": [round(p, 3) for p in paints],
            "idle_seconds": idle, "idle_cpu_percent": round(cpu, 2), "rss_mb": round(rss, 1),
            "load_average_1m": round(os.getloadavg()[0], 2)}


def main() -> int:
    """Parse options, run the measurement, print JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--idle", type=float, default=30.0, help="seconds of idle CPU sampling")
    parser.add_argument("--runs", type=int, default=5, help="cold starts timed for the first paint")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if shutil.which("tmux") is None:
        print("bench/dashboard.py needs tmux (a real terminal for the dashboard)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure(Path(tmp), args.count, args.idle, max(1, args.runs)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
