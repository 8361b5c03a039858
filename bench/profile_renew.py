"""Where a bulk `renew`'s CPU goes: one `zerossl-tui renew` of N due certificates run IN this process under
cProfile (every thread, timed with ``time.thread_time``: CPU, not waits), against a Pebble at its default
5% nonce rejection, started as bench_renew.py starts it.

``.venv/bin/python bench/profile_renew.py [--count 200] [--top 40] [--out FILE.pstats]`` prints our CPU per
order split by library (requests/urllib3, josepy, acme, cryptography, our storage, ...), the functions with
the most own time, and Pebble's CPU per order.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_renew import _ADD_MANY, pid_cpu, start_default_pebble  # noqa: E402
from common import VENV_PY, ZT  # noqa: E402

# First match wins: (part of the path, the group it is counted in).
GROUPS = (
    ("zerossl_tui/storage", "ours: storage (files, journal, locks)"),
    ("zerossl_tui/service", "ours: service (orders, recorder, hooks, deploy)"),
    ("zerossl_tui/engine", "ours: engine (session, issue, network)"),
    ("zerossl_tui/cli", "ours: cli (progress output)"),
    ("zerossl_tui/core", "ours: core (settings, policy, models)"),
    ("zerossl_tui", "ours: other"),
    ("/requests/", "requests"),
    ("/urllib3/", "urllib3"),
    ("/http/client", "http.client"),
    ("ssl.py", "ssl (TLS reads/writes)"),
    ("socket.py", "socket"),
    ("/josepy/", "josepy (JWS, JSON (de)serialisation)"),
    ("/acme/", "acme (messages, client)"),
    ("/cryptography/", "cryptography (Python side)"),
    ("sqlite3", "sqlite3"),
    ("/json/", "json"),
    ("/logging/", "logging"),
    ("/email/", "email (header parsing)"),
    ("threading.py", "threading"),
    ("/concurrent/", "concurrent.futures"),
)


def group_of(filename: str, name: str) -> str:
    """The group of a profiled function (a built-in is named by the module it came from when it can be)."""
    for part, group in GROUPS:
        if part in filename:
            return group
    if filename == "~":
        text = name.lower()
        for key, group in (("sqlite3", "sqlite3"), ("_ssl", "ssl (TLS reads/writes)"), ("socket", "socket"),
                           ("fsync", "os: fsync"), ("posix", "os"), ("cryptography", "cryptography (Rust)"),
                           ("builtins", "builtins"), ("_json", "json")):
            if key in text:
                return group
        return "other built-ins: " + name.split("'")[1] if "'" in name else "other built-ins"
    return "stdlib/other"


class ThreadProfiles:
    """A cProfile.Profile in every thread started while it is installed (CPU time of each thread)."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self._guard = threading.Lock()

    def _start(self, *_: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile(time.thread_time)
        with self._guard:
            self.profiles.append(profile)
        profile.enable()

    def __enter__(self) -> ThreadProfiles:
        threading.setprofile(self._start)
        self._start()
        return self

    def __exit__(self, *exc: object) -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        for profile in self.profiles:
            profile.disable()

    def stats(self) -> pstats.Stats:
        merged = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            try:
                merged.add(profile)
            except TypeError:  # a thread that never ran anything
                pass
        return merged


def prepare(work: Path, count: int) -> tuple[Any, dict[str, str]]:
    """A Pebble, a fresh settings/data folder with the provider and ``count`` due certificates."""
    pebble = start_default_pebble(work / "pebble", prefer_ari=False)
    env = {**os.environ, "ZEROSSL_TUI_CONFIG": str(work / "home" / "config" / "settings.toml"),
           "ZEROSSL_TUI_DATA_DIR": str(work / "home" / "data")}
    subprocess.run([str(ZT), "provider", "add", "local", "--directory", pebble.directory, "--ca-bundle",
                    str(pebble.ca_bundle), "--email", "bench@example.test"], env=env, check=True,
                   capture_output=True)
    subprocess.run([str(VENV_PY), "-c", _ADD_MANY, str(pebble.http_port), str(count)], env=env, check=True,
                   capture_output=True)
    return pebble, env


def count_requests() -> list[str]:
    """A list that gets the method of every request the ACME network sends from now on."""
    from zerossl_tui.engine.network import AcmeNetwork

    sent: list[str] = []
    send = AcmeNetwork._send_request

    def counted(self: AcmeNetwork, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return send(self, method, url, *args, **kwargs)

    AcmeNetwork._send_request = counted  # type: ignore[method-assign]
    return sent


def set_concurrency(concurrency: int) -> None:
    """Write ``[renewal] concurrency`` into the settings of this process's environment."""
    from dataclasses import replace

    from zerossl_tui.service.service import CertificateService
    from zerossl_tui.storage.settings_file import save_settings

    service = CertificateService()
    settings = service.reload()
    save_settings(service.paths, replace(settings, renewal=replace(settings.renewal, concurrency=concurrency)))


def report(stats: pstats.Stats, count: int, top: int) -> None:
    """Per-order CPU by group, then the functions with the most own CPU time."""
    groups: dict[str, float] = {}
    total = 0.0
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        group = group_of(filename, name)
        groups[group] = groups.get(group, 0.0) + tottime
        total += tottime
    print(f"\nprofiled CPU (all threads): {total:.2f} s = {1000 * total / count:.1f} ms per order")
    for group, seconds in sorted(groups.items(), key=lambda kv: -kv[1]):
        if seconds * 1000 / count >= 0.05:
            print(f"  {1000 * seconds / count:6.2f} ms  {100 * seconds / total:5.1f}%  {group}")
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--no-profile", action="store_true", help="only time it (CPU of this process)")
    parser.add_argument("--concurrency", type=int, default=0, help="[renewal] concurrency (0: the default)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zt-profile-renew-"))
    pebble, env = prepare(work, args.count)
    os.environ.update(env)
    if args.concurrency:
        set_concurrency(args.concurrency)
    from zerossl_tui.cli.main import main as cli_main

    sent = count_requests()
    pids = [p.pid for p in pebble._procs]  # noqa: SLF001 - reading our own child's CPU
    ca_before, cpu_before, started = pid_cpu(pids), time.process_time(), time.perf_counter()
    try:
        if args.no_profile:
            code = cli_main(["renew"])
        else:
            with ThreadProfiles() as profiles:
                code = cli_main(["renew"])
    except SystemExit as exit_:
        code = exit_.code  # type: ignore[assignment]
    finally:
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_before
        ca_cpu = pid_cpu(pids) - ca_before
        pebble.stop()
    print(f"exit {code}; {args.count} orders in {wall:.2f} s = {args.count / wall:.1f}/s; our CPU "
          f"{1000 * cpu / args.count:.1f} ms/order, Pebble {1000 * ca_cpu / args.count:.1f} ms/order; "
          f"{len(sent) / args.count:.2f} requests/order; load {os.getloadavg()}", file=sys.stderr)
    if not args.no_profile:
        stats = profiles.stats()
        if args.out:
            stats.dump_stats(args.out)
        report(stats, args.count, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
