"""The fleet benchmark: 100 due renewals, one host on the filesystem against three hosts on PostgreSQL.

Each scenario: 100 certificates (one name each) are issued untimed on a Pebble whose certificates live
LIFETIME seconds, every host's daemon runs until it serves all of them, then the daemons stop. Once every
certificate is due (half its lifetime left), the daemons start again (t0) and the wall time is taken until
every host's certfile holds a renewed certificate for all 100 names. Daemons are processes, the way
systemd runs them; the three fleet hosts sit behind a round-robin balancer on Pebble's http-01 port (a
validation may land on any host). Also measured: taking a free lock (filesystem flock vs PostgreSQL lease
row, 200 times each) and deploy propagation (database clock: a version's creation to each other host's
record of serving it; median and worst).

Run as root (PostgreSQL runs as ``postgres``): ``python bench/fleet.py [--count 100]``; the result goes to
bench/results.json under "fleet".
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pgserver import PgServer, _postgres_owned_folder  # noqa: E402 - after the path set-up

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer, free_port  # noqa: E402
from zerossl_tui.engine.keys import parse_cert  # noqa: E402

LIFETIME = 300  # seconds; due at half, i.e. 150 s after issuance: time to issue 100 first
GOAL_RATIO = 1.5


def log(message: str) -> None:
    """Progress on stderr."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


class Balancer:
    """Round-robin TCP balancer over the hosts' responder ports (the next one that accepts)."""

    def __init__(self, port: int, backends: list[int]) -> None:
        self.backends, self._next = backends, 0
        self._sock = socket.create_server(("127.0.0.1", port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        start, self._next = self._next, self._next + 1
        for offset in range(len(self.backends)):  # each backend once, from this connection's turn on
            port = self.backends[(start + offset) % len(self.backends)]
            try:
                upstream = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                continue
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
            _pipe(client, upstream)
            return
        client.close()

    def close(self) -> None:
        """Stop accepting."""
        self._sock.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (src, dst):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_pids(server: PgServer) -> list[int]:
    """The postmaster and every process it started (backends, checkpointer, ...)."""
    master = int((server.data / "postmaster.pid").read_text().split()[0])
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == master:
                    pids.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return pids


class CpuMeter:
    """CPU seconds per process group of the timed phase: each daemon, PostgreSQL, Pebble."""

    def __init__(self, pg: PgServer | None, pebble: PebbleServer) -> None:
        self.pg, self.pebble = pg, pebble
        self.start = self._others()
        self.bench = cpu_seconds(os.getpid())

    def _others(self) -> dict[str, dict[int, float]]:
        groups = {"pebble": {p.pid: cpu_seconds(p.pid) for p in self.pebble._procs}}
        if self.pg is not None:
            groups["postgresql"] = {pid: cpu_seconds(pid) for pid in postgres_pids(self.pg)}
        return groups

    def end(self, hosts: list[Host]) -> dict[str, float]:
        """Seconds used since the meter was made (daemons started after it: their whole life)."""
        out = {h.host_id: round(cpu_seconds(h.proc.pid), 2) for h in hosts if h.proc is not None}
        out["bench"] = round(cpu_seconds(os.getpid()) - self.bench, 2)  # its polling and balancer
        for group, pids in self._others().items():
            out[group] = round(sum(now - self.start[group].get(pid, 0.0) for pid, now in pids.items()), 2)
        return out


def wait_until(check: Any, timeout: float, what: str) -> float:
    """Poll ``check`` until true; the seconds it took."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check():
            return time.perf_counter() - start
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def scenario(hosts: list[Host], names: list[str], lifetime: int, meter: Any, profile: Path | None) -> dict[str, Any]:
    """Warm up (issue, every host serves), wait until due, then time the renewal of everything everywhere."""
    hosts[0].cli("renew", "--force")
    for host in hosts:
        host.start()
    wait_until(lambda: all(len(h.serials(names)) == len(names) for h in hosts), 600, "every host to serve")
    for host in hosts:
        host.stop()
    old = {h.host_id: h.serials(names) for h in hosts}
    issued = max(parse_cert(hosts[0].certfile(n).read_bytes()).not_before for n in names)
    due_in = lifetime / 2 - (datetime.now(UTC) - issued).total_seconds() + 2
    log(f"waiting {max(0.0, due_in):.0f} s until all {len(names)} are due")
    time.sleep(max(0.0, due_in))
    cpu = meter()
    start = time.perf_counter()
    for host in hosts:
        host.start()
    spies = [] if profile is None else [py_spy(h, profile) for h in hosts]

    def renewed() -> bool:
        return all(all(s != old[h.host_id].get(n) for n, s in h.serials(names).items())
                   and len(h.serials(names)) == len(names) for h in hosts)

    seconds = wait_until(renewed, 1800, "every host to serve every renewed certificate")
    used = cpu.end(hosts)
    for host in hosts:
        host.stop()
    for spy in spies:
        spy.wait(60)
    return {"seconds": round(seconds, 2), "hosts": len(hosts), "certificates": len(names),
            "since": round(time.perf_counter() - start, 2), "cpu_seconds": used,
            "load_average_after": [round(x, 2) for x in os.getloadavg()]}


def py_spy(host: Host, folder: Path) -> subprocess.Popen[bytes]:
    """Sample one daemon with py-spy until it exits: collapsed stacks of the thread holding the GIL (where
    its Python CPU time goes; waits for the network, the disk or the GIL are left out)."""
    assert host.proc is not None
    folder.mkdir(parents=True, exist_ok=True)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return subprocess.Popen([spy, "record", "--pid", str(host.proc.pid), "--rate", "200", "--format", "raw",
                             "--nonblocking", "--gil", "-o", str(folder / f"{host.host_id}.txt")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def statement_counts(server: PgServer, database: str) -> str:
    """The statements PostgreSQL ran in the timed phase, most called first (pg_stat_statements)."""
    return server.psql("SELECT calls, round(total_exec_time::numeric, 1), left(regexp_replace(query, '\\s+', ' ', 'g'),"
                       " 160) FROM pg_stat_statements ORDER BY calls DESC LIMIT 40", database)


def lock_latency(dsn: str, key_file: Path, data: Path) -> dict[str, Any]:
    """Taking and giving back a free lock 200 times: filesystem flock vs a PostgreSQL lease row."""
    from zerossl_tui.storage.backend import FileLocker
    from zerossl_tui.storage.postgres import open_postgresql

    backend = open_postgresql(dsn, "bench-probe", key_file, datetime.now(UTC))
    out = {}
    for label, locker in (("filesystem", FileLocker(data / "locks")), ("postgresql", backend.locker)):
        times = []
        for i in range(200):
            lock = locker.certificate(f"lock{i % 10}")
            start = time.perf_counter()
            assert lock.try_acquire()
            times.append(time.perf_counter() - start)
            lock.release()
        out[label] = {"median_ms": round(statistics.median(times) * 1000, 3), "worst_ms": round(max(times) * 1000, 3)}
    backend.close()
    return out


def propagation(server: PgServer, database: str) -> dict[str, Any]:
    """Seconds from a version's creation to each other host's record of serving it (database clock)."""
    sql = ("SELECT extract(epoch FROM s.at - v.created) FROM served s JOIN versions v ON v.cert = s.cert AND"
           " v.version = s.version JOIN orders o ON o.serial = s.serial AND o.result = 'issued'"
           " WHERE s.host_id <> o.host_id AND v.seq > 1")
    values = [float(x) for x in server.psql(sql, database).split()]
    if not values:
        return {"samples": 0}
    # The five slowest, each as [seconds, host, seconds since the first renewed version was made]: late in
    # the wave (a busy host) or early (a host still starting).
    worst = ("SELECT round(extract(epoch FROM s.at - v.created)::numeric, 2), s.host_id, round(extract(epoch FROM"
             " v.created - min(v.created) OVER ())::numeric, 2) FROM served s JOIN versions v ON v.cert = s.cert AND"
             " v.version = s.version JOIN orders o ON o.serial = s.serial AND o.result = 'issued' WHERE"
             " s.host_id <> o.host_id AND v.seq > 1 ORDER BY 1 DESC LIMIT 5")
    slowest = [[float(r.split("|")[0]), r.split("|")[1], float(r.split("|")[2])]
               for r in server.psql(worst, database).split()]
    return {"samples": len(values), "median_s": round(statistics.median(values), 3), "worst_s": round(max(values), 3),
            "slowest": slowest}


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
            balancer = Balancer(pebble_port, [h.port for h in hosts])
            try:
                log(f"{label}: {count} host(s), {len(names)} certificates")
                def meter(pebble: PebbleServer = pebble, fleet: bool = count > 1) -> CpuMeter:
                    if fleet and args.profile is not None:
                        pg.psql("SELECT pg_stat_statements_reset()", "fleet")
                    return CpuMeter(pg if fleet else None, pebble)

                spy = None if args.profile is None else args.profile / label
                result[label] = scenario(hosts, names, lifetime, meter, spy)
                if count > 1 and args.profile is not None:
                    (args.profile / "statements.txt").write_text(statement_counts(pg, "fleet"))
                log(f"{label}: {result[label]['seconds']} s")
            finally:
                for host in hosts:
                    host.stop()
                balancer.close()
                pebble.stop()
        if args.only is None:
            result["ratio_fleet_over_single"] = round(result["fleet_postgresql"]["seconds"]
                                                      / result["single_filesystem"]["seconds"], 3)
        result["goal_ratio"] = GOAL_RATIO
        result["lock_latency"] = lock_latency(dsn, key_file, work / "locks")
        result["deploy_propagation"] = propagation(pg, "fleet")
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
