"""Process start-up: the floor (interpreter, libraries) and what each command imports.

Each line is a fresh process, median of N runs. The module checks run `python -X importtime` once per
command and report whether heavy packages were imported (textual must not be, outside the dashboard; acme,
josepy, cryptography and requests only by commands that talk to a CA or read a certificate).
Run alone: ``.venv/bin/python bench/startup.py [--runs 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import VENV_PY, ZT, median, run_process  # noqa: E402

HEAVY = ("textual", "rich", "acme", "josepy", "cryptography", "requests", "urllib3", "OpenSSL", "platformdirs",
         "sqlite3", "tomli_w", "concurrent.futures", "http.server", "subprocess")

PY = str(VENV_PY)
FLOOR = [
    ("python -c pass", [PY, "-c", "pass"]),
    ("python -S -c pass (no site)", [PY, "-S", "-c", "pass"]),
    ("python -c 'import requests'", [PY, "-c", "import requests"]),
    ("python -c 'import josepy'", [PY, "-c", "import josepy"]),
    ("python -c 'import cryptography.x509'", [PY, "-c", "import cryptography.x509"]),
    ("python -c 'import acme.client'", [PY, "-c", "import acme.client"]),
    ("python -c 'import acme.client, acme.messages, acme.challenges'",
     [PY, "-c", "import acme.client, acme.messages, acme.challenges"]),
    ("python -c 'import zerossl_tui.cli.main'", [PY, "-c", "import zerossl_tui.cli.main"]),
    ("python -c 'import <everything `issue` imports>'",
     [PY, "-c", "import zerossl_tui.cli.main, zerossl_tui.service.service, zerossl_tui.service.orders, "
                "zerossl_tui.engine.session, zerossl_tui.engine.keys"]),
    ("zerossl-tui --version", [str(ZT), "--version"]),
    ("zerossl-tui list --json (empty)", [str(ZT), "list", "--json"]),
]


def imported_modules(args: list[str], env: dict[str, str]) -> tuple[set[str], list[tuple[int, str]]]:
    """Top-level modules a command imports, and the 15 largest cumulative import times (microseconds)."""
    done = run_process([PY, "-X", "importtime", "-m", "zerossl_tui", *args], env)[1]
    modules: set[str] = set()
    costs: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _self, cumulative, name = line[len("import time:"):].split("|")
        modules.add(name.strip())
        depth = (len(name) - len(name.lstrip(" ")) - 1) // 2
        if depth <= 1:  # what the entry point imports, and what those import directly
            costs.append((int(cumulative), name.strip()))
    return modules, sorted(costs, reverse=True)[:15]


def heavy_in(modules: set[str]) -> dict[str, bool]:
    return {h: any(m == h or m.startswith(h + ".") for m in modules) for h in HEAVY}


def run_startup(runs: int = 20) -> dict[str, Any]:
    home = Path(tempfile.mkdtemp(prefix="zt-bench-startup-"))
    env = {**os.environ, "ZEROSSL_TUI_CONFIG": str(home / "settings.toml"), "ZEROSSL_TUI_DATA_DIR": str(home / "d")}
    # Round robin (every command once per round), so that load from elsewhere hits all of them alike.
    times: dict[str, list[float]] = {label: [] for label, _ in FLOOR}
    for _ in range(runs):
        for label, cmd in FLOOR:
            run, _done = run_process(cmd, env)
            if not run.ok:
                raise RuntimeError(f"{label}: {run.detail}")
            times[label].append(run.seconds)
    floor: dict[str, Any] = {}
    for label, _ in FLOOR:
        floor[label] = {"median_s": round(median(times[label]) or 0, 4), "min_s": round(min(times[label]), 4)}
        sys.stderr.write(f"  {label:<62} median {floor[label]['median_s']:.4f} s, min {floor[label]['min_s']:.4f} s\n")
    modules: dict[str, Any] = {}
    for label, args in (("--version", ["--version"]), ("list --json", ["list", "--json"]),
                        ("log x --json", ["log", "x", "--json"])):
        found, top = imported_modules(args, env)
        modules[label] = {"module_count": len(found), "heavy_imported": heavy_in(found),
                          "largest_imports_us": [{"module": m, "cumulative_us": c} for c, m in top]}
    shutil.rmtree(home, ignore_errors=True)
    return {"runs": runs, "floor": floor, "imports": modules}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(run_startup(args.runs), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
