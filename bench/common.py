"""Shared pieces of the benchmarks: timing, machine facts, Pebble, the tools under test.

Every tool is driven as a separate PROCESS, the way a user or cron runs it, against the same local Pebble,
on loopback only. Trust is always verified: zerossl-tui gets ``ca_bundle``, certbot ``REQUESTS_CA_BUNDLE``,
lego ``LEGO_CA_CERTIFICATES``; uacme reads only the system bundle, so the runner (run.py) re-executes itself
in a private mount namespace where ``/etc/ssl/certs/ca-certificates.crt`` is a bind mount of the system
bundle plus Pebble's TLS CA (see ``UacmeTrust``): nothing outside that namespace ever sees it, and it
vanishes with the runner.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PY = ROOT / ".venv" / "bin" / "python"
ZT = ROOT / ".venv" / "bin" / "zerossl-tui"
SYSTEM_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
UACME_HOOK = Path("/usr/share/uacme/uacme.sh")  # the hook Debian's uacme ships (printf / rm)
NS_ENV = "ZT_BENCH_IN_NAMESPACE"

sys.path.insert(0, str(ROOT))  # running from a checkout: `python bench/run.py`
# The measured processes import THIS checkout's package too (the venv may be an editable install of another
# worktree, or a symlink to one).
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)


def log(message: str) -> None:
    """Progress on stderr, timestamped."""
    sys.stderr.write(f"[{time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


# -- timing ------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """One timed process (or loop of processes)."""

    seconds: float
    cpu: float  # user + system of the children
    ok: bool
    detail: str = ""


def run_process(cmd: list[str], env: dict[str, str] | None = None, *, cwd: Path | None = None,
                timeout: float = 600) -> tuple[Run, subprocess.CompletedProcess[str]]:
    """Run ``cmd`` to completion; wall time around the whole process, CPU time of the children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    ok = done.returncode == 0
    detail = "" if ok else f"exit {done.returncode}: {(done.stderr or done.stdout).strip()[-400:]}"
    return Run(seconds, cpu, ok, detail), done


def run_sequence(cmds: list[tuple[list[str], dict[str, str] | None]], timeout: float = 1800,
                 check: Any = None) -> Run:
    """A loop of processes, one after the other (what a shell loop or cron over N names does).

    ``check(completed)`` returns why a process that exited 0 still did not do the work ("" when it did)."""
    total, cpu, ok, detail = 0.0, 0.0, True, ""
    for cmd, env in cmds:
        one, done = run_process(cmd, env, timeout=timeout)
        total, cpu = total + one.seconds, cpu + one.cpu
        problem = one.detail if not one.ok else (check(done) if check else "")
        if problem:
            ok, detail = False, problem
            break
    return Run(total, cpu, ok, detail)


def median(values: list[float]) -> float | None:
    """Median, or None for no values."""
    return statistics.median(values) if values else None


def stats(runs: list[Run]) -> dict[str, Any]:
    """What results.json keeps for one tool in one scenario."""
    good = [r for r in runs if r.ok]
    return {
        "runs_s": [round(r.seconds, 4) for r in runs],
        "cpu_s": [round(r.cpu, 4) for r in runs],
        "failed": [r.detail for r in runs if not r.ok],
        "median_s": _round(median([r.seconds for r in good])),
        "min_s": _round(min((r.seconds for r in good), default=None)),
        "max_s": _round(max((r.seconds for r in good), default=None)),
        "median_cpu_s": _round(median([r.cpu for r in good])),
    }


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


# -- machine facts -----------------------------------------------------------------------------------------


def _first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    text = (out.stdout + out.stderr).strip()
    return text.splitlines()[0] if text else ""


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pebble_version(binary: str) -> str:
    """Pebble has no --version: read the Debian changelog next to the binary (or dpkg's record)."""
    prefix = Path(binary).resolve().parent.parent  # .../usr
    changelog = prefix / "share" / "doc" / "pebble" / "changelog.Debian.gz"
    if changelog.exists():
        import gzip

        head = gzip.open(changelog, "rt").readline()
        return f"{head.split()[1].strip('()')} ({binary})"
    return f"{_first_line(['dpkg-query', '-W', '-f', '${Version}', 'pebble'])} ({binary})"


def machine_facts(pebble_binary: str = "") -> dict[str, Any]:
    """CPU, cores, OS, Python, library and peer versions, date, load."""
    from importlib.metadata import version

    facts: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "kernel": platform.release(),
        "os": _os_name(),
        "python": _first_line([str(VENV_PY), "-VV"]),
        "python_executable": str(VENV_PY),
        "zerossl_tui": version("zerossl-tui"),
        "acme": version("acme"),
        "josepy": version("josepy"),
        "cryptography": version("cryptography"),
        "requests": version("requests"),
        "pebble": pebble_version(pebble_binary) if pebble_binary else "",
        "uacme": _first_line(["uacme", "-V"]) if shutil.which("uacme") else None,
        "certbot": _first_line(["certbot", "--version"]) if shutil.which("certbot") else None,
        "lego": _first_line(["lego", "--version"]) if shutil.which("lego") else None,
    }
    if facts["lego"] and "dev" in facts["lego"]:
        pkg = _first_line(["dpkg-query", "-W", "-f", "${Version}", "lego"])
        facts["lego"] += f" (Debian package {pkg})" if pkg else ""
    return facts


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.platform()


# -- Pebble and trust --------------------------------------------------------------------------------------


PEBBLE_ARI = {"value": False}  # run.py --pebble-ari: Pebble 2.6 (ARI) instead of the plain Debian 12 Pebble


def start_pebble(workdir: Path, validity_seconds: int | None = None) -> Any:
    """A fresh Pebble: no nonce rejection, no validation sleep, no authorization reuse (fair to everyone).

    Plain Pebble (no ARI) by default: none of the peers speaks ARI, and Pebble 2.6 cannot find the order of
    a certificate whose serial's DER form starts with a zero byte, so our ARI ``replaces`` fails there (see
    README.md); ``--pebble-ari`` measures on Pebble 2.6 anyway.
    """
    from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer

    options = PebbleOptions(nonce_reject=0, va_nosleep=True, authz_reuse=0, validity_seconds=validity_seconds,
                            prefer_ari=PEBBLE_ARI["value"])
    return PebbleServer(workdir, options).start()


class UacmeTrust:
    """Make Pebble's TLS CA trusted by uacme inside this process's private mount namespace only.

    ``run.py`` re-executes itself under ``unshare --mount --propagation private`` (root only); here the
    system bundle plus Pebble's CA is bind-mounted over the system bundle path. The host's file is never
    written; the mount disappears when the namespace's last process exits; ``undo`` unmounts it earlier.
    """

    def __init__(self) -> None:
        self.mounted: list[Path] = []

    @staticmethod
    def possible() -> bool:
        return os.environ.get(NS_ENV) == "1" and os.geteuid() == 0 and SYSTEM_BUNDLE.exists()

    def add(self, ca_pem: Path, workdir: Path) -> None:
        bundle = workdir / "system-plus-pebble.pem"
        base = self._original_bundle(workdir)
        bundle.write_bytes(base + b"\n" + ca_pem.read_bytes())
        subprocess.run(["mount", "--bind", str(bundle), str(SYSTEM_BUNDLE)], check=True)
        self.mounted.append(SYSTEM_BUNDLE)

    def _original_bundle(self, workdir: Path) -> bytes:
        # Read the host's bundle before any mount of ours shadows it (a second Pebble adds its own CA).
        saved = workdir.parent / "system-bundle.orig.pem"
        if not saved.exists():
            saved.write_bytes(SYSTEM_BUNDLE.read_bytes())
        return saved.read_bytes()

    def undo(self) -> None:
        while self.mounted:
            subprocess.run(["umount", str(self.mounted.pop())], check=False)


class TokenServer:
    """A webroot on pebble.http_port for uacme's hook (uacme has no built-in http-01 responder).

    Started just before each uacme run and stopped right after it (outside the timed span), because
    zerossl-tui, certbot and lego bind the same port with their own built-in responders.
    """

    def __init__(self, webroot: Path, port: int) -> None:
        self.webroot, self.port = webroot, port
        self.challenge_dir = webroot / ".well-known" / "acme-challenge"
        self.challenge_dir.mkdir(parents=True, exist_ok=True)
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> TokenServer:
        handler = partial(_QuietHandler, directory=str(self.webroot))
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 128, "daemon_threads": True})
        for _ in range(100):
            try:
                self._server = server_class(("127.0.0.1", self.port), handler)
                break
            except OSError:  # the previous tool's listener is still closing
                time.sleep(0.02)
        else:
            raise OSError(f"port {self.port} stays busy")
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib's signature
        pass


def port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def wait_port_free(port: int, timeout: float = 10.0) -> None:
    """Wait until the previous tool's responder has closed (outside any timed span)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not port_free(port):
        time.sleep(0.01)


# -- the tools -----------------------------------------------------------------------------------------------

Cmd = tuple[list[str], dict[str, str] | None]


@dataclass
class Tool:
    """A client under test; ``issue`` gives the one command that obtains a certificate for ``domains``."""

    name: str
    pebble: Any
    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Subclasses set their environment here."""

    def available(self) -> bool:
        return True

    def setup(self) -> None:
        """Register the account (a warm-up, like a peer that keeps its account)."""

    def issue(self, cert: str, domains: list[str], *, force: bool = True) -> Cmd:
        raise NotImplementedError

    def wraps(self) -> Any:
        """Context manager around each timed run (uacme's webroot server); a no-op by default."""
        return _Nothing()

    def check(self, done: subprocess.CompletedProcess[str]) -> str:
        """Why a process that exited 0 did not do the work ("" when it did)."""
        return ""


class _Nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


class Ours(Tool):
    """zerossl-tui: a fresh settings and data folder (env), provider `local`, built-in http-01 responder."""

    def __post_init__(self) -> None:
        self.env = {**os.environ, "ZEROSSL_TUI_CONFIG": str(self.home / "config" / "settings.toml"),
                    "ZEROSSL_TUI_DATA_DIR": str(self.home / "data")}
        self.env.pop("ZEROSSL_TUI_DEBUG", None)
        self.added: set[str] = set()

    def cli(self, *args: str, check: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
        assert "ZEROSSL_TUI_CONFIG" in self.env, "never touch the user's own settings"
        done = subprocess.run([str(ZT), *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check and done.returncode != 0:
            raise RuntimeError(f"zerossl-tui {' '.join(args[:3])}: exit {done.returncode}: {done.stderr[-600:]}")
        return done

    def setup(self) -> None:
        self.cli("provider", "add", "local", "--directory", self.pebble.directory,
                 "--ca-bundle", str(self.pebble.ca_bundle), "--email", "bench@example.test")

    def add(self, cert: str, domains: list[str]) -> None:
        if cert in self.added:
            return
        args = ["add", cert, "--provider", "local", "--http-port", str(self.pebble.http_port),
                "--http-bind", "127.0.0.1"]
        for domain in domains:
            args += ["-d", domain]
        self.cli(*args)
        self.added.add(cert)

    def issue(self, cert: str, domains: list[str], *, force: bool = True) -> Cmd:
        self.add(cert, domains)
        return [str(ZT), "issue", cert], self.env

    def renew(self, names: list[str], *, force: bool) -> Cmd:
        return [str(ZT), "renew", *names, *(["--force"] if force else [])], self.env


class Uacme(Tool):
    """uacme with the hook Debian ships (writes the token file), served by ``TokenServer``; EC P-256 keys."""

    def __post_init__(self) -> None:
        self.server = TokenServer(self.home / "www", self.pebble.http_port)
        self.env = {**os.environ, "UACME_CHALLENGE_PATH": str(self.server.challenge_dir)}

    def available(self) -> bool:
        return bool(shutil.which("uacme")) and UACME_HOOK.exists() and UacmeTrust.possible()

    def base(self) -> list[str]:
        return ["uacme", "-t", "EC", "-a", self.pebble.directory, "-c", str(self.home / "conf")]

    def setup(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        done = subprocess.run([*self.base(), "-y", "new"], env=self.env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"uacme new: {done.stderr[-400:]}")

    def issue(self, cert: str, domains: list[str], *, force: bool = True) -> Cmd:
        # uacme reissues a certificate only when it is due, or with -f.
        return [*self.base(), *(["-f"] if force else []), "-h", str(UACME_HOOK), "issue", *domains], self.env

    def wraps(self) -> Any:
        wait_port_free(self.pebble.http_port)
        return self.server


class Certbot(Tool):
    """certbot certonly --standalone on the Pebble port (its own responder), ECDSA P-256."""

    def __post_init__(self) -> None:
        self.env = {**os.environ, "REQUESTS_CA_BUNDLE": str(self.pebble.ca_bundle)}

    def available(self) -> bool:
        return bool(shutil.which("certbot"))

    def dirs(self) -> list[str]:
        return ["--config-dir", str(self.home / "config"), "--work-dir", str(self.home / "work"),
                "--logs-dir", str(self.home / "logs")]

    def issue(self, cert: str, domains: list[str], *, force: bool = True) -> Cmd:
        cmd = ["certbot", "certonly", "--standalone", "--http-01-port", str(self.pebble.http_port),
               "--http-01-address", "127.0.0.1", "--server", self.pebble.directory, *self.dirs(),
               "--register-unsafely-without-email", "--agree-tos", "--non-interactive",
               "--key-type", "ecdsa", "--elliptic-curve", "secp256r1", "--cert-name", cert]
        for domain in domains:
            cmd += ["-d", domain]
        return cmd + (["--force-renewal"] if force else []), self.env

    def check(self, done: subprocess.CompletedProcess[str]) -> str:
        if "not due for renewal" in done.stdout + done.stderr:
            return "certbot renewed nothing: not due"
        return ""

    def renew_all(self) -> Cmd:
        """One `certbot renew` over every lineage of this config folder (certbot's own batch mode)."""
        return ["certbot", "renew", "--no-random-sleep-on-renew", "--non-interactive", *self.dirs()], self.env

    def setup(self) -> None:
        wait_port_free(self.pebble.http_port)
        cmd, env = self.issue("warmup", ["warmup.certbot.test"])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"certbot warm-up: {done.stderr[-400:]}")


class Lego(Tool):
    """lego run with its built-in http-01 server on the Pebble port, ec256."""

    def __post_init__(self) -> None:
        self.env = {**os.environ, "LEGO_CA_CERTIFICATES": str(self.pebble.ca_bundle)}

    def available(self) -> bool:
        return bool(shutil.which("lego"))

    def base(self, domains: list[str]) -> list[str]:
        cmd = ["lego", "--server", self.pebble.directory, "--accept-tos", "--email", "bench@example.test",
               "--path", str(self.home), "--http", "--http.port", f"127.0.0.1:{self.pebble.http_port}",
               "--key-type", "ec256"]
        for domain in domains:
            cmd += ["-d", domain]
        return cmd

    def issue(self, cert: str, domains: list[str], *, force: bool = True) -> Cmd:
        if force:
            return [*self.base(domains), "run"], self.env
        return [*self.base(domains), "renew", "--days", "30", "--no-random-sleep"], self.env

    def check(self, done: subprocess.CompletedProcess[str]) -> str:
        return "lego renewed nothing: not due" if ": no renewal" in done.stdout + done.stderr else ""

    def setup(self) -> None:
        wait_port_free(self.pebble.http_port)
        cmd, env = self.issue("warmup", ["warmup.lego.test"])
        done = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"lego warm-up: {done.stderr[-400:]}")


PEERS = {"uacme": Uacme, "certbot": Certbot, "lego": Lego}


def timed(tool: Tool, cmds: list[Cmd]) -> Run:
    """Run ``cmds`` for ``tool`` (with its wrapper, e.g. uacme's webroot server, outside the timing)."""
    wait_port_free(tool.pebble.http_port)
    with tool.wraps():
        return run_sequence(cmds, check=tool.check)


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n")
