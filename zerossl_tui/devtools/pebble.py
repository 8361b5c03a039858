"""Start and stop a local Pebble CA (Let's Encrypt's ACME test server) with pebble-challtestsrv for DNS.

Used by ``zerossl-tui sandbox``, the test suite and the benchmarks. Everything listens on loopback, on free
ports; Pebble's HTTPS certificate comes from a throw-away CA made here, whose PEM is ``ca_bundle``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import OperationError

ARI_PEBBLE = Path("/opt/pebble-trixie/usr/bin/pebble")


class PebbleMissing(OperationError):
    """Pebble is not installed."""

    title = "Pebble missing"


def find_pebble(prefer_ari: bool = True) -> tuple[str, str]:
    """Paths of (pebble, pebble-challtestsrv); the ARI-capable Pebble 2.6 first when installed."""
    pebble = os.environ.get("ZEROSSL_TUI_PEBBLE") or ""
    if not pebble and prefer_ari and ARI_PEBBLE.exists():
        pebble = str(ARI_PEBBLE)
    pebble = pebble or shutil.which("pebble") or ""
    challtestsrv = shutil.which("pebble-challtestsrv") or ""
    if not challtestsrv and ARI_PEBBLE.with_name("pebble-challtestsrv").exists():
        challtestsrv = str(ARI_PEBBLE.with_name("pebble-challtestsrv"))
    if not pebble or not challtestsrv:
        raise PebbleMissing(
            "pebble is not installed: run `sudo apt-get install pebble` (Debian/Ubuntu), then try again"
        )
    return pebble, challtestsrv


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PebbleOptions:
    """How to run Pebble. ``nonce_reject`` None keeps Pebble's default (5%)."""

    http_port: int = 0
    eab_keys: dict[str, str] = field(default_factory=dict)
    validity_seconds: int | None = None
    nonce_reject: int | None = None
    va_nosleep: bool = True
    authz_reuse: int | None = None
    blocklist: list[str] = field(default_factory=list)
    prefer_ari: bool = True
    dns_server: str = ""  # HOST:PORT Pebble resolves (and validates dns-01) against; "" = its own challtestsrv
    alternate_roots: int = 0  # PEBBLE_ALTERNATE_ROOTS: extra roots, each offered as an alternate chain
    chain_length: int = 0  # PEBBLE_CHAIN_LENGTH: intermediates under each root (3 gave three); 0 = Pebble's one


class PebbleServer:
    """A running Pebble plus challtestsrv; ``start()`` returns once the directory answers."""

    def __init__(self, workdir: Path, options: PebbleOptions | None = None) -> None:
        self.workdir = Path(workdir)
        self.options = options or PebbleOptions()
        self.port = free_port()
        self.mgmt_port = free_port()
        self.dns_port = _free_udp_port()
        self.http_port = self.options.http_port or free_port()
        self.ca_bundle = self.workdir / "pebble-ca.pem"
        self._procs: list[subprocess.Popen[bytes]] = []
        self.binary = ""

    @property
    def directory(self) -> str:
        """The ACME directory URL."""
        return f"https://localhost:{self.port}/dir"

    @property
    def management(self) -> str:
        """Base URL of Pebble's management API (roots, cert status by serial)."""
        return f"https://localhost:{self.mgmt_port}"

    def start(self, timeout: float = 60.0) -> PebbleServer:
        """Write TLS files and config, start both processes, wait until ``/dir`` answers.

        Both run in the workdir, each in its own process group, and (started from the main thread, on
        Linux) are SIGKILLed by the kernel when this process dies, however it dies. Whatever fails here
        stops what was already started."""
        pebble, challtestsrv = find_pebble(self.options.prefer_ari)
        self.binary = pebble
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.ca_bundle.exists():
            _write_tls_files(self.workdir)
        config = self.workdir / "pebble-config.json"
        config.write_text(json.dumps(self._config()))
        try:
            if not self.options.dns_server:
                self._spawn(self._dns_args(challtestsrv), os.environ)
            dns = self.options.dns_server or f"127.0.0.1:{self.dns_port}"
            self._spawn([pebble, "-config", str(config), "-dnsserver", dns], self._env())
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _dns_args(self, challtestsrv: str) -> list[str]:
        args = [challtestsrv, "-dns01", f"127.0.0.1:{self.dns_port}", "-http01", "", "-https01", "",
                "-tlsalpn01", "", "-management", f"127.0.0.1:{free_port()}",
                "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""]
        return args + ["-doh", ""] if _supports_doh(challtestsrv) else args

    def _spawn(self, args: list[str], env: Mapping[str, str]) -> None:
        with open(self.workdir / "pebble.log", "ab") as log:  # the child keeps its own descriptor
            self._procs.append(subprocess.Popen(
                [*die_with_parent(), *args], stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                cwd=self.workdir, start_new_session=True,
            ))

    def _config(self) -> dict[str, object]:
        body: dict[str, object] = {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": str(self.workdir / "pebble-tls.pem"),
            "privateKey": str(self.workdir / "pebble-tls.key"),
            "httpPort": self.http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": bool(self.options.eab_keys),
        }
        if self.options.eab_keys:
            body["externalAccountMACKeys"] = dict(self.options.eab_keys)
        if self.options.validity_seconds:
            body["certificateValidityPeriod"] = self.options.validity_seconds
        if self.options.blocklist:
            body["domainBlocklist"] = list(self.options.blocklist)
        return {"pebble": body}

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
        opts = self.options
        if opts.va_nosleep:
            env["PEBBLE_VA_NOSLEEP"] = "1"
        if opts.nonce_reject is not None:
            env["PEBBLE_WFE_NONCEREJECT"] = str(opts.nonce_reject)
        if opts.authz_reuse is not None:
            env["PEBBLE_AUTHZREUSE"] = str(opts.authz_reuse)
        if opts.alternate_roots:
            env["PEBBLE_ALTERNATE_ROOTS"] = str(opts.alternate_roots)
        if opts.chain_length:
            env["PEBBLE_CHAIN_LENGTH"] = str(opts.chain_length)
        return env

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(p.poll() is not None for p in self._procs):
                self.stop()
                log = (self.workdir / "pebble.log").read_text(errors="replace")[-600:]
                raise OperationError(f"pebble exited at start-up: {log.strip()}")
            try:
                self.get(self.directory)
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise OperationError(f"pebble did not answer on {self.directory} within {timeout:.0f} s")

    def get(self, url: str, timeout: float = 5.0) -> bytes:
        """GET a Pebble URL, trusting its throw-away CA."""
        context = ssl.create_default_context(cafile=str(self.ca_bundle))
        with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:  # noqa: S310
            return bytes(resp.read())

    def has_ari(self) -> bool:
        """True when the directory advertises ``renewalInfo`` (Pebble 2.6 and later)."""
        return "renewalInfo" in json.loads(self.get(self.directory))

    def cert_status(self, serial_hex: str) -> str:
        """``Valid`` or ``Revoked``, from the management API."""
        url = f"{self.management}/cert-status-by-serial/{serial_hex}"
        return str(json.loads(self.get(url)).get("Status", ""))

    def root_pem(self, index: int = 0) -> bytes:
        """The issuing root of this Pebble run (``index`` > 0: an alternate root)."""
        return self.get(f"{self.management}/roots/{index}")

    def intermediate_pem(self, index: int = 0) -> bytes:
        """The intermediate that signs leaves in chain ``index`` (under root ``index``)."""
        return self.get(f"{self.management}/intermediates/{index}")

    def stop(self) -> None:
        """Stop both processes and their process groups (Pebble forgets everything)."""
        for proc in reversed(self._procs):
            if proc.poll() is None:  # not reaped yet: the pid, and so the group, is still this child's
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs.clear()

    def kill_pebble(self) -> None:
        """SIGKILL Pebble alone (fault injection); ``restart`` brings it back with no memory."""
        if self._procs:  # Pebble is always the last one started
            self._procs[-1].kill()
            self._procs[-1].wait()

    def restart(self) -> None:
        """Stop and start again on the same ports: accounts are forgotten, a new root is made."""
        self.stop()
        self.start()

    def __enter__(self) -> PebbleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def die_with_parent() -> list[str]:
    """What to put before a command so that the kernel SIGKILLs it when this process dies, however it dies:
    util-linux's ``setpriv --pdeathsig`` (Linux ``PR_SET_PDEATHSIG``, kept across its exec); nothing where
    that is missing.

    setpriv rather than a ``preexec_fn``: Python code between fork and exec can deadlock when other threads
    exist. The kernel ties the signal to the thread that forks, so only the main thread, which lives as long
    as the process, asks for it.
    """
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "KILL", "--"]


def _supports_doh(challtestsrv: str) -> bool:
    try:
        out = subprocess.run([challtestsrv, "-h"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return "-doh" in (out.stdout + out.stderr)


def _free_udp_port() -> int:
    for _ in range(50):
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise OperationError("no free local port for the test DNS server")


def _write_tls_files(folder: Path) -> None:
    """A throw-away CA and a leaf for localhost, 127.0.0.1 and ::1."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zerossl-tui local Pebble TLS CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
             x509.IPAddress(ipaddress.ip_address("::1"))]
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    (folder / "pebble-tls.pem").write_bytes(leaf.public_bytes(pem))
    key_file = folder / "pebble-tls.key"
    key_file.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    (folder / "pebble-ca.pem").write_bytes(ca.public_bytes(pem))
