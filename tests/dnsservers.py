"""Real DNS servers for the dns-01 tests (BIND 9 with RFC 2136 + TSIG, PowerDNS with its HTTP API for
lexicon), and the helpers those tests share.

Both listen on loopback, on free ports, and are started and stopped by the fixtures below (import them
into a test module: ``from dnsservers import bind, pdns``). BIND serves two zones: ``zt.example.net`` (a
real public suffix, so that lexicon-style zone guesses behave) and ``zt-validate.example.org``, a
validation-only zone that ``_acme-challenge.deleg.zt.example.net`` is delegated to by CNAME.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

import dns.message
import dns.query
import dns.rdatatype
import dns.zone
import pytest

from zerossl_tui.core.models import EventKind
from zerossl_tui.engine.dns import DnsSpec, make_solver
from zerossl_tui.engine.dns.solver import Dns01Solver

ZONE = "zt.example.net"
VALIDATION_ZONE = "zt-validate.example.org"
DELEGATED = f"deleg.{ZONE}"  # its _acme-challenge is a CNAME into VALIDATION_ZONE
DELEGATION_TARGET = f"deleg.{VALIDATION_ZONE}"
KEY_NAME = "acme"
ALGORITHMS = ("hmac-sha256", "hmac-sha384", "hmac-sha512", "hmac-sha1")


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (DNS listens on both)."""
    for _ in range(100):
        with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port for a DNS server")


def wait_answering(port: int, zone: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    """Poll the server's SOA until it answers authoritatively; fail with its log if it exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"DNS server exited at start-up: {log.read_text(errors='replace')[-1500:]}")
        try:
            answer = dns.query.udp(dns.message.make_query(zone, "SOA"), "127.0.0.1", port=port, timeout=0.5)
            if answer.answer:
                return
        except (OSError, dns.exception.Timeout):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"DNS server on port {port} did not answer within {timeout:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """Terminate, then kill if it lingers."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def txt_values(port: int, name: str) -> set[str]:
    """The TXT strings at ``name`` as the server on ``port`` answers them now."""
    answer = dns.query.tcp(dns.message.make_query(name, "TXT"), "127.0.0.1", port=port, timeout=3)
    return {b"".join(rd.strings).decode() for rrset in answer.answer if rrset.rdtype == dns.rdatatype.TXT
            for rd in rrset}


def challenge_txt_names(port: int, zone: str) -> list[str]:
    """Every ``_acme-challenge`` name in ``zone`` holding a TXT record (by zone transfer)."""
    xfr = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=port, timeout=5))
    return sorted(str(name) for name, node in xfr.nodes.items()
                  if str(name).startswith("_acme-challenge") and node.get_rdataset(1, dns.rdatatype.TXT))


@dataclass
class Bind:
    """A running BIND: port, TSIG keys by algorithm (key names ``acme`` and ``acme-<alg>``)."""

    folder: Path
    port: int
    secrets: dict[str, str] = field(repr=False)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def server(self) -> str:
        """``127.0.0.1:PORT``, as a settings value."""
        return f"127.0.0.1:{self.port}"

    def key_name(self, algorithm: str) -> str:
        """The TSIG key name configured for ``algorithm`` (``acme`` is hmac-sha256)."""
        return KEY_NAME if algorithm == "hmac-sha256" else f"{KEY_NAME}-{algorithm}"

    def txt(self, name: str) -> set[str]:
        """TXT values at ``name`` now."""
        return txt_values(self.port, name)

    def leftovers(self) -> list[str]:
        """``_acme-challenge`` TXT names left in either zone."""
        return challenge_txt_names(self.port, ZONE) + challenge_txt_names(self.port, VALIDATION_ZONE)

    def keyfile(self) -> Path:
        """A key file for ``nsupdate -k`` (the hmac-sha256 key)."""
        return self.folder / "nsupdate.key"


def _bind_conf(folder: Path, port: int, keys: dict[str, str]) -> str:
    key_blocks = "".join(
        f'key "{KEY_NAME if alg == "hmac-sha256" else f"{KEY_NAME}-{alg}"}" {{ algorithm {alg}; '
        f'secret "{secret}"; }};\n' for alg, secret in keys.items())
    allowed = " ".join(f'key "{KEY_NAME if a == "hmac-sha256" else f"{KEY_NAME}-{a}"}";' for a in keys)
    zones = "".join(
        f'zone "{zone}" {{ type primary; file "{folder}/{zone}.db"; allow-update {{ {allowed} }}; }};\n'
        for zone in (ZONE, VALIDATION_ZONE))
    return _named_options(folder, port, "recursion no; allow-transfer { 127.0.0.1; }; notify no;") + key_blocks + zones


def _named_options(folder: Path, port: int, extra: str) -> str:
    """The options every BIND here shares (loopback on ``port``, its files in ``folder``), and ``extra``."""
    return (f'options {{ directory "{folder}"; listen-on port {port} {{ 127.0.0.1; }}; listen-on-v6 {{ none; }};'
            f' dnssec-validation no; {extra} pid-file "{folder}/named.pid"; session-keyfile "{folder}/session.key";'
            " };\ncontrols { };\n")


def _named_folder(folder: Path) -> Path:
    """``folder``, made for named (root-owned, 0755: named drops capabilities and must still read it)."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    return folder


def _run_named(folder: Path, port: int, conf: str) -> subprocess.Popen[bytes]:
    """Write ``conf`` as ``named.conf`` and run ``named -g`` on it; returns once it answers for ZONE."""
    named = shutil.which("named") or "/usr/sbin/named"
    if not os.path.exists(named):
        pytest.skip("BIND is not installed (apt-get install bind9): run .ci/install-dns")
    (folder / "named.conf").write_text(conf)
    log = folder / "named.log"
    proc = subprocess.Popen([named, "-g", "-n", "1", "-c", str(folder / "named.conf")], stdin=subprocess.DEVNULL,
                            stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        wait_answering(port, ZONE, proc, log)
    except BaseException:
        stop_process(proc)
        raise
    return proc


class _Server(Protocol):
    proc: subprocess.Popen[bytes] | None


_S = TypeVar("_S", bound=_Server)


def _stopped_at_the_end(server: _S) -> Iterator[_S]:
    """The body of a session fixture: hand out ``server``, stop its process when the session ends."""
    yield server
    assert server.proc is not None
    stop_process(server.proc)


def _zone_file(zone: str) -> str:
    lines = [f"$ORIGIN {zone}.", "$TTL 60",
             f"@ IN SOA ns.{zone}. hostmaster.{zone}. 1 3600 600 86400 60",
             f"@ IN NS ns.{zone}.", "ns IN A 127.0.0.1", "@ IN A 127.0.0.1"]
    if zone == ZONE:
        lines.append(f"_acme-challenge.deleg IN CNAME {DELEGATION_TARGET}.")
        lines += ["child IN NS ns.child", "ns.child IN A 127.0.0.2"]  # a delegated child zone, served elsewhere
    return "\n".join(lines) + "\n"


def start_bind(folder: Path) -> Bind:
    """Write a config for two updatable zones and start ``named -g`` on a free port (root-owned folder)."""
    folder = _named_folder(folder)
    keys = {alg: base64.b64encode(secrets.token_bytes(32)).decode() for alg in ALGORITHMS}
    port = free_port()
    for zone in (ZONE, VALIDATION_ZONE):
        (folder / f"{zone}.db").write_text(_zone_file(zone))
    (folder / "nsupdate.key").write_text(
        f'key "{KEY_NAME}" {{ algorithm hmac-sha256; secret "{keys["hmac-sha256"]}"; }};\n')
    return Bind(folder, port, keys, _run_named(folder, port, _bind_conf(folder, port, keys)))


@pytest.fixture(scope="session")
def bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind]:
    """A BIND 9 authoritative for ZONE and VALIDATION_ZONE, updatable with TSIG (every algorithm)."""
    yield from _stopped_at_the_end(start_bind(tmp_path_factory.mktemp("bind")))


def start_resolver(folder: Path, upstream: Bind) -> Bind:
    """A recursive BIND (what a CA validates through) that forwards both zones to ``upstream`` and keeps
    nothing in its cache, so each order's values are seen fresh; it follows CNAMEs across zones, which an
    authoritative-only server does not."""
    folder, port = _named_folder(folder), free_port()
    forwarders = f"forwarders {{ 127.0.0.1 port {upstream.port}; }};"
    forwards = "".join(f'zone "{z}" {{ type forward; forward only; {forwarders} }};\n' for z in (ZONE, VALIDATION_ZONE))
    options = _named_options(folder, port, "recursion yes; allow-recursion { 127.0.0.1; }; max-cache-ttl 0; "
                                           "max-ncache-ttl 0;")
    return Bind(folder, port, {}, _run_named(folder, port, options + forwards))


@pytest.fixture(scope="session")
def bind_resolver(tmp_path_factory: pytest.TempPathFactory, bind: Bind) -> Iterator[Bind]:
    """A recursive resolver in front of ``bind``: give it to Pebble as ``-dnsserver``."""
    yield from _stopped_at_the_end(start_resolver(tmp_path_factory.mktemp("bind-resolver"), bind))


@dataclass
class PowerDns:
    """A running PowerDNS with the HTTP API: DNS on ``port``, API at ``api`` with ``api_key``."""

    folder: Path
    port: int
    api_port: int
    api_key: str = field(repr=False)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def api(self) -> str:
        """Base URL of the HTTP API (lexicon's ``pdns_server``)."""
        return f"http://127.0.0.1:{self.api_port}"

    def txt(self, name: str) -> set[str]:
        """TXT values at ``name`` now."""
        return txt_values(self.port, name)

    def create_zone(self, zone: str) -> None:
        """Create a Native zone through the API."""
        body = json.dumps({"name": f"{zone}.", "kind": "Native", "nameservers": [f"ns.{zone}."]}).encode()
        request = urllib.request.Request(f"{self.api}/api/v1/servers/localhost/zones", data=body, method="POST",
                                         headers={"X-API-Key": self.api_key, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310 - loopback test server
            assert resp.status == 201, resp.status


def start_pdns(folder: Path) -> PowerDns:
    """PowerDNS with gsqlite3 and the API on free ports; ZONE created through the API."""
    pdns = shutil.which("pdns_server") or "/usr/sbin/pdns_server"
    schema = Path("/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")
    if not os.path.exists(pdns) or not schema.exists() or not shutil.which("sqlite3"):
        pytest.skip("PowerDNS is not installed (pdns-server pdns-backend-sqlite3 sqlite3): run .ci/install-dns")
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "pdns.sqlite3"
    subprocess.run(["sqlite3", str(db)], input=schema.read_bytes(), check=True, capture_output=True)
    port, api_port, key = free_port(), free_port(), secrets.token_urlsafe(16)
    conf = {"launch": "gsqlite3", "gsqlite3-database": db, "local-address": "127.0.0.1", "local-port": port,
            "api": "yes", "api-key": key, "webserver": "yes", "webserver-address": "127.0.0.1",
            "webserver-port": api_port, "webserver-allow-from": "127.0.0.0/8", "socket-dir": folder,
            "guardian": "no", "daemon": "no", "disable-syslog": "yes",
            "distributor-threads": 1, "receiver-threads": 1}
    conf_text = "".join(f"{k}={v}\n" for k, v in conf.items())
    (folder / "pdns.conf").write_text(conf_text)
    log = folder / "pdns.log"
    proc = subprocess.Popen([pdns, f"--config-dir={folder}"], stdin=subprocess.DEVNULL, stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    server = PowerDns(folder, port, api_port, key, proc)
    try:
        _wait_api(server, proc, log)
        server.create_zone(ZONE)
        wait_answering(port, ZONE, proc, log)
    except BaseException:
        stop_process(proc)
        raise
    return server


def _wait_api(server: PowerDns, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    request = urllib.request.Request(f"{server.api}/api/v1/servers", headers={"X-API-Key": server.api_key})
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pdns_server exited at start-up: {log.read_text(errors='replace')[-1500:]}")
        try:
            with urllib.request.urlopen(request, timeout=1):  # noqa: S310 - loopback test server
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the PowerDNS API did not answer within {timeout:.0f} s")


@pytest.fixture(scope="session")
def pdns(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PowerDns]:
    """A PowerDNS serving ZONE (created through its API), for lexicon's powerdns provider."""
    yield from _stopped_at_the_end(start_pdns(tmp_path_factory.mktemp("pdns")))


@pytest.fixture(scope="session")
def stale_bind(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bind]:
    """A second BIND with the same zones that never receives our updates: a resolver that never sees them."""
    yield from _stopped_at_the_end(start_bind(tmp_path_factory.mktemp("stale-bind")))


# --- helpers for the dns-01 tests ---------------------------------------------------------------------


@dataclass
class Journal:
    """What the solver reported through its hooks and progress callable."""

    added: list[tuple[str, str, str]] = field(default_factory=list)
    removed: list[tuple[str, str, str]] = field(default_factory=list)
    events: list[tuple[EventKind, str]] = field(default_factory=list)

    def progress(self, kind: EventKind, message: str, retry_after: float | None) -> None:
        self.events.append((kind, message))

    def kinds(self) -> list[EventKind]:
        return [k for k, _ in self.events]

    def outstanding(self) -> list[tuple[str, str, str]]:
        """Records added and not removed: what a crash cleanup would still have to remove."""
        left = list(self.added)
        for item in self.removed:
            left.remove(item)
        return left


def spec_for(bind: Bind, algorithm: str = "hmac-sha256", **changes: object) -> DnsSpec:
    values: dict[str, object] = {
        "name": "bind", "type": "rfc2136", "server": bind.server, "tsig_key_name": bind.key_name(algorithm),
        "tsig_secret": bind.secrets[algorithm], "tsig_algorithm": algorithm, "resolvers": (bind.server,),
        "propagation_timeout": 10.0}
    values.update(changes)
    return DnsSpec(**values)  # type: ignore[arg-type]


def solver_for(spec: DnsSpec, journal: Journal, **kwargs: object) -> Dns01Solver:
    return make_solver(spec, on_record_added=lambda *a: journal.added.append(a),
                       on_record_removed=lambda *a: journal.removed.append(a), **kwargs)  # type: ignore[arg-type]


def label() -> str:
    return "t" + secrets.token_hex(4)
