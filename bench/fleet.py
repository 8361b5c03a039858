"""The fleet benchmark: 100 due renewals, one host on the filesystem against three hosts on PostgreSQL.

Each scenario: the daemons start and issue 100 certificates (one name each) untimed, in one batch, on a
Pebble whose certificates live LIFETIME seconds, until every host serves all of them. Then two waves
are timed, each until every host's certfile holds a renewed certificate for all 100 names:

- ``steady`` (the primary figure, as users run daemons): the daemons keep running, settled, while the
  certificates come due; t0 is the moment the last one comes due. The due moments spread over 10-20 s
  (issuance, plus the serial's jitter of up to 1/50 of the lifetime), differently for each scenario, so
  ``from_first_due`` (t0 the first due moment) is mostly that spread; each certificate's latency from its
  own due moment to every host serving its renewal is given as ``per_certificate_s``.
- ``with_startup`` (the old figure): the daemons stop, and start again once every renewed certificate is
  due again; t0 is their start, so the window includes each daemon's interpreter start-up.

The same method for the single host and the fleet. Daemons are processes, the way systemd runs them;
the three fleet hosts sit behind a round-robin balancer on Pebble's http-01 port (a validation may land
on any host). Also measured: CPU seconds per process in each wave, taking a free lock (filesystem flock
vs PostgreSQL lease row, 200 times each) and deploy propagation per wave (database clock: a version's
creation to each other host's record of serving it; median and worst).

Run as root (PostgreSQL runs as ``postgres``): ``python bench/fleet.py [--count 100]``; the result goes to
bench/results.json under "fleet".
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from balancer import Balancer  # noqa: E402
from fleet_tools import CpuMeter, lock_latency, py_spy, statement_counts  # noqa: E402
from pgserver import PgServer, _postgres_owned_folder  # noqa: E402 - after the path set-up

from zerossl_tui.core.policy import lifetime_renewal_at  # noqa: E402
from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer, free_port  # noqa: E402
from zerossl_tui.engine.keys import parse_cert  # noqa: E402

LIFETIME = 300  # seconds; due at half, i.e. 150 s after issuance: time to issue 100 first
GOAL_RATIO = 1.5


def log(message: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


class Host:
    """One host: a settings file, a data folder, served files, a daemon process."""

    def __init__(self, root: Path, host_id: str, port: int) -> None:
        self.root, self.host_id, self.port = root, host_id, port
        self.config = root / "config" / "settings.toml"
        self.proc: subprocess.Popen[bytes] | None = None
        self._seen: dict[str, tuple[Any, str]] = {}  # name -> ((inode, mtime), serial)

    def env(self) -> dict[str, str]:
        return {**os.environ, "ZEROSSL_TUI_CONFIG": str(self.config), "ZEROSSL_TUI_DATA_DIR": str(self.root / "data"),
                "HOME": str(self.root)}

    def certfile(self, name: str) -> Path:
        return self.root / "srv" / f"{name}.pem"

    def write_settings(self, pebble: PebbleServer, names: list[str], storage: str) -> None:
        lines = [storage, "[renewal]", "concurrency = 8", "", "[providers.local]",
                 f'directory = "{pebble.directory}"', f'ca_bundle = "{pebble.ca_bundle}"', ""]
        for name in names:
            lines += [f"[certificates.{name}]", f'domains = ["{name}.bench.test"]', 'provider = "local"',
                      f"http_port = {self.port}", 'http_bind = "127.0.0.1"', f'certfile = "{self.certfile(name)}"',
                      f'keyfile = "{self.root / "srv" / (name + ".key")}"', ""]
        self.config.parent.mkdir(parents=True, exist_ok=True)
        self.config.write_text("\n".join(lines))

    def cli(self, *args: str) -> None:
        done = subprocess.run([sys.executable, "-m", "zerossl_tui", *args], env=self.env(), cwd=ROOT,
                              capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"{self.host_id}: zerossl-tui {' '.join(args)}: {done.stderr.strip()[-2000:]}")

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=self.env(), cwd=ROOT,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=(self.root / "daemon.log").open("ab"))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(60)

    def serials(self, names: list[str]) -> dict[str, str]:
        """name -> serial each certfile holds now; a file is parsed again only once it was replaced (the
        bench polls 300 files 5 times a second: parsing them all each time took CPU from the daemons)."""
        out = {}
        for name in names:
            path = self.certfile(name)
            try:
                stamp = (path.stat().st_ino, path.stat().st_mtime_ns)
                if self._seen.get(name, (None,))[0] != stamp:
                    self._seen[name] = (stamp, parse_cert(path.read_bytes()).serial)
                out[name] = self._seen[name][1]
            except (OSError, ValueError, Exception):  # noqa: BLE001 - not there yet, or being replaced
                continue
        return out


def wait_until(check: Any, timeout: float, what: str) -> float:
    """Poll ``check`` until true; the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check():
            return time.perf_counter() - start
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


Meter = Callable[[list[Host], str], CpuMeter]  # the CPU meter of one wave ("steady" or "with_startup")


def scenario(hosts: list[Host], names: list[str], meter: Meter, profile: Path | None,
             after: Callable[[str, dict[str, Any]], None]) -> dict[str, Any]:
    """Warm up (the running daemons issue all of them in one batch, every host serves them), then two timed
    waves of renewals (``after`` adds to each wave's figures once it ended): the
    steady state (the daemons run and have settled when the certificates come due), then, once the
    renewed certificates are due again, the old figure: the daemons stopped meanwhile and started inside
    the timed window."""
    for host in hosts:  # the daemons issue them: each has run orders, as a daemon running for weeks has
        host.start()
    wait_until(lambda: all(len(h.serials(names)) == len(names) for h in hosts), 600, "every host to serve")
    out: dict[str, Any] = {"hosts": len(hosts), "certificates": len(names)}
    out["steady"] = wave(hosts, names, meter, profile, started=True)
    after("steady", out["steady"])
    for host in hosts:
        host.stop()
    out["with_startup"] = wave(hosts, names, meter, profile, started=False)
    after("with_startup", out["with_startup"])
    return out


def due_moments(host: Host, names: list[str]) -> dict[str, float]:
    """name -> the moment (epoch seconds) its served certificate comes due: the daemons' lifetime rule,
    half the lifetime left minus the serial's jitter (Pebble's ARI window lies outside a 300 s lifetime,
    so the daemons fall back to that rule)."""
    return {n: lifetime_renewal_at(parse_cert(host.certfile(n).read_bytes())).timestamp() for n in names}


def wave(hosts: list[Host], names: list[str], meter: Meter, profile: Path | None, *, started: bool) -> dict[str, Any]:
    """Time one wave of renewals until every host serves every renewed certificate.

    ``started``: the daemons run; t0 is the moment the LAST certificate comes due. The due moments spread
    over 10-20 s (the batch's issuance plus the serial's jitter of up to 1/50 of the lifetime), and the
    spread differs between scenarios (the single host issues its batch at another pace than the fleet),
    so the time from the FIRST due moment (``from_first_due``) is mostly that spread; the per-certificate
    latency (its own due moment to every host serving its renewal) is reported too. Otherwise the daemons
    are started once every certificate is due, and t0 is that start."""
    label = "steady" if started else "with_startup"
    old = {h.host_id: h.serials(names) for h in hosts}
    due = due_moments(hosts[0], names)
    first, last = min(due.values()), max(due.values())
    t0 = first if started else last + 2
    log(f"{label}: waiting {t0 - time.time():.0f} s; due moments spread over {last - first:.1f} s")
    time.sleep(max(0.0, t0 - (3 if started else 0) - time.time()))  # steady: meter from 3 s before
    cpu = meter(hosts, label)
    if not started:
        t0 = time.time()
        for host in hosts:
            host.start()
    spies = [] if profile is None else [py_spy(h, profile, f"-{label}") for h in hosts]
    seen = served_moments(hosts, names, old)
    used = cpu.end(hosts)
    for spy in spies:  # py-spy writes its profile on SIGINT (or when the daemon exits)
        spy.send_signal(signal.SIGINT)
        spy.wait(60)
    end = max(seen.values())
    everywhere = {n: max(seen[(h.host_id, n)] for h in hosts) for n in names}
    latency = [everywhere[n] - max(due[n], t0) for n in names]  # from its own due moment (or the start)
    return {"seconds": round(end - (last if started else t0), 2),
            "t0": "the last due moment" if started else "daemons started",
            "from_first_due": round(end - first, 2), "after_last_due": round(end - last, 2),
            "due_spread_s": round(last - first, 2),
            "per_certificate_s": {"median": round(statistics.median(latency), 2), "worst": round(max(latency), 2)},
            "renewed_before_t0": sum(1 for at in seen.values() if at < t0), "cpu_seconds": used,
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def served_moments(hosts: list[Host], names: list[str], old: dict[str, dict[str, str]]) -> dict[tuple[str, str], float]:
    """(host, name) -> the moment (epoch seconds) the host was first seen serving a renewed certificate;
    polls 5 times a second until every host serves every name renewed."""
    seen: dict[tuple[str, str], float] = {}
    deadline = time.time() + 1800
    while len(seen) < len(hosts) * len(names):
        if time.time() > deadline:
            raise RuntimeError("timed out waiting for every host to serve every renewed certificate")
        now = time.time()
        for host in hosts:
            for name, serial in host.serials(names).items():
                if (host.host_id, name) not in seen and serial != old[host.host_id].get(name):
                    seen[(host.host_id, name)] = now
        time.sleep(0.2)
    return seen


def propagation(server: PgServer, database: str, seq: int) -> dict[str, Any]:
    """Seconds from a version's creation to each other host's record of serving it (database clock), for
    the versions numbered ``seq`` (2: the steady wave, 3: the wave with start-up)."""
    sql = ("SELECT extract(epoch FROM s.at - v.created) FROM served s JOIN versions v ON v.cert = s.cert AND"
           " v.version = s.version JOIN orders o ON o.serial = s.serial AND o.result = 'issued'"
           f" WHERE s.host_id <> o.host_id AND v.seq = {seq}")
    values = [float(x) for x in server.psql(sql, database).split()]
    if not values:
        return {"samples": 0}
    # The five slowest, each as [seconds, host, seconds since the first renewed version was made]: late in
    # the wave (a busy host) or early (a host still starting).
    worst = ("SELECT round(extract(epoch FROM s.at - v.created)::numeric, 2), s.host_id, round(extract(epoch FROM"
             " v.created - min(v.created) OVER ())::numeric, 2) FROM served s JOIN versions v ON v.cert = s.cert AND"
             " v.version = s.version JOIN orders o ON o.serial = s.serial AND o.result = 'issued' WHERE"
             f" s.host_id <> o.host_id AND v.seq = {seq} ORDER BY 1 DESC LIMIT 5")
    slowest = [[float(r.split("|")[0]), r.split("|")[1], float(r.split("|")[2])]
               for r in server.psql(worst, database).split()]
    return {"samples": len(values), "median_s": round(statistics.median(values), 3), "worst_s": round(max(values), 3),
            "slowest": slowest}


def ratios(single: dict[str, Any], fleet: dict[str, Any]) -> dict[str, float]:
    """fleet / single: ``steady`` (the primary figure: from the last due moment until every host serves
    every renewal), ``steady_per_certificate_median`` (each certificate from its own due moment),
    ``steady_from_first_due`` (mostly the spread of due moments, which differs between the scenarios) and
    ``with_startup`` (the old figure: daemons started inside the window)."""
    def ratio(wave: str, key: str, part: str = "") -> float:
        over, under = fleet[wave][key], single[wave][key]
        over, under = (over[part], under[part]) if part else (over, under)
        return round(over / max(under, 0.01), 3)

    return {"steady": ratio("steady", "seconds"),
            "steady_per_certificate_median": ratio("steady", "per_certificate_s", "median"),
            "steady_from_first_due": ratio("steady", "from_first_due"),
            "with_startup": ratio("with_startup", "seconds")}


def main() -> int:
    """Run both scenarios and merge the result into bench/results.json under "fleet"."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--lifetime", type=int, default=LIFETIME, help="certificate lifetime in seconds")
    parser.add_argument("--dry", action="store_true", help="print the result, do not write results.json")
    parser.add_argument("--key", default="fleet", help="the results.json key to write")
    parser.add_argument("--profile", type=Path, help="py-spy every daemon and count PostgreSQL statements into DIR")
    parser.add_argument("--only", choices=["single_filesystem", "fleet_postgresql"], help="run one scenario")
    args = parser.parse_args()
    lifetime = args.lifetime
    # As bench/run.py: an installed package has its .pyc files. Without them every daemon compiles the
    # whole package at start, and the fleet, with three daemons starting at once, pays it three times.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "zerossl_tui")], check=True)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    names = [f"c{i:03d}" for i in range(args.count)]
    work = Path(tempfile.mkdtemp(prefix="zt-bench-fleet-"))
    pg = PgServer(_postgres_owned_folder())
    pg.init()
    if args.profile is not None:
        with (pg.data / "postgresql.conf").open("a") as conf:
            conf.write("\nshared_preload_libraries = 'pg_stat_statements'\n")
    pg.start()
    result: dict[str, Any] = {"date": datetime.now(UTC).isoformat(), "lifetime_s": lifetime, "cores": os.cpu_count(),
                              "load_average_at_start": list(os.getloadavg()),
                              "bytecode": "package byte-compiled before timing, PYTHONDONTWRITEBYTECODE removed"}
    try:
        pg.psql("CREATE DATABASE fleet")
        if args.profile is not None:
            pg.psql("CREATE EXTENSION pg_stat_statements", "fleet")
        dsn, key_file = pg.dsn("fleet"), work / "fleet.key"
        for label, count in (("single_filesystem", 1), ("fleet_postgresql", 3)):
            if args.only not in (None, label):
                continue
            pebble_port = free_port()
            pebble = PebbleServer(work / f"pebble-{label}", PebbleOptions(
                validity_seconds=lifetime, http_port=pebble_port, nonce_reject=0, authz_reuse=0))
            pebble.start()
            hosts = [Host(work / label / f"web-{i + 1}", f"web-{i + 1}", free_port()) for i in range(count)]
            storage = "" if count == 1 else "\n".join(["[storage]", 'backend = "postgresql"', f'dsn = "{dsn}"',
                                                       f'key_file = "{key_file}"'])
            if count > 1:
                from zerossl_tui.storage.postgres import ensure_key_file

                ensure_key_file(key_file)
            for host in hosts:
                host.write_settings(pebble, names, storage + (f'\nhost_id = "{host.host_id}"\n' if storage else ""))
            balancer = Balancer(pebble_port, [h.port for h in hosts]).start()
            try:
                log(f"{label}: {count} host(s), {len(names)} certificates")
                waves: list[str] = []

                def meter(daemons: list[Host], wave: str, pebble: PebbleServer = pebble,
                          fleet: bool = count > 1, waves: list[str] = waves) -> CpuMeter:
                    if fleet and args.profile is not None:  # the statements of each wave, apart
                        if waves:
                            dump_statements(args.profile, waves[-1])
                        pg.psql("SELECT pg_stat_statements_reset()", "fleet")
                    waves.append(wave)
                    return CpuMeter(pg if fleet else None, pebble, daemons)

                def dump_statements(folder: Path, wave: str) -> None:
                    (folder / f"statements-{wave}.txt").write_text(statement_counts(pg, "fleet"))

                def after(wave: str, figures: dict[str, Any], fleet: bool = count > 1) -> None:
                    if fleet:  # now: the next wave replaces what each host records serving
                        figures["deploy_propagation"] = propagation(pg, "fleet", 2 if wave == "steady" else 3)

                spy = None if args.profile is None else args.profile / label
                result[label] = scenario(hosts, names, meter, spy, after)
                if count > 1 and args.profile is not None:
                    dump_statements(args.profile, waves[-1])
                log(f"{label}: steady {result[label]['steady']['seconds']} s,"
                    f" with start-up {result[label]['with_startup']['seconds']} s")
            finally:
                for host in hosts:
                    host.stop()
                balancer.close()
                pebble.stop()
        if args.only is None:
            result["ratio_fleet_over_single"] = ratios(result["single_filesystem"], result["fleet_postgresql"])
        result["goal_ratio"] = GOAL_RATIO
        result["lock_latency"] = lock_latency(dsn, key_file, work / "locks")
        result["load_average_at_end"] = list(os.getloadavg())
    finally:
        pg.stop()
    print(json.dumps(result, indent=2))
    if args.dry:
        return 0
    path = ROOT / "bench" / "results.json"
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc[args.key] = result
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
