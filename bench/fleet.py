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
        out = {}
        for name in names:
            try:
                out[name] = parse_cert(self.certfile(name).read_bytes()).serial
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


def scenario(hosts: list[Host], names: list[str], lifetime: int) -> dict[str, Any]:
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
    start = time.perf_counter()
    for host in hosts:
        host.start()

    def renewed() -> bool:
        return all(all(s != old[h.host_id].get(n) for n, s in h.serials(names).items())
                   and len(h.serials(names)) == len(names) for h in hosts)

    seconds = wait_until(renewed, 1800, "every host to serve every renewed certificate")
    for host in hosts:
        host.stop()
    return {"seconds": round(seconds, 2), "hosts": len(hosts), "certificates": len(names),
            "since": round(time.perf_counter() - start, 2)}


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
    return {"samples": len(values), "median_s": round(statistics.median(values), 3), "worst_s": round(max(values), 3)}


def main() -> int:
    """Run both scenarios and merge the result into bench/results.json under "fleet"."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--lifetime", type=int, default=LIFETIME, help="certificate lifetime in seconds")
    parser.add_argument("--dry", action="store_true", help="print the result, do not write results.json")
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
    pg.start()
    result: dict[str, Any] = {"date": datetime.now(UTC).isoformat(), "lifetime_s": lifetime, "cores": os.cpu_count(),
                              "load_average_at_start": list(os.getloadavg()),
                              "bytecode": "package byte-compiled before timing, PYTHONDONTWRITEBYTECODE removed"}
    try:
        pg.psql("CREATE DATABASE fleet")
        dsn, key_file = pg.dsn("fleet"), work / "fleet.key"
        for label, count in (("single_filesystem", 1), ("fleet_postgresql", 3)):
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
                result[label] = scenario(hosts, names, lifetime)
                log(f"{label}: {result[label]['seconds']} s")
            finally:
                for host in hosts:
                    host.stop()
                balancer.close()
                pebble.stop()
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
    doc["fleet"] = result
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
