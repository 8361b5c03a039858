"""dns-01: one wildcard + apex certificate through RFC 2136 on the same BIND and Pebble, zerossl-tui vs lego
(`--dns rfc2136`) vs certbot with certbot-dns-rfc2136. Whole processes, interleaved rounds (order rotated),
ratios ours/peer pair by pair; results go into bench/results.json under "dns01".

Set-up: an authoritative BIND on 127.0.0.1:53 (the zone's NS ``ns.zt.example.net`` has the in-zone address
127.0.0.1), a recursive BIND in front of it that
caches nothing, and Pebble (no nonce rejection, no validation sleep, no authorization reuse) validating
through that resolver. Each tool registers its account in a warm-up run first.

Propagation checks: ours waits until the zone's authoritative server (``--resolver 127.0.0.1:53``, the
address its NS record leads to) answers both values: not cut. lego's full check resolves the NS names
through the system's resolver (Go's resolver, outside this machine: not allowed here), so it runs with
``--dns.disable-cp --dns.resolvers 127.0.0.1:53``: one TXT query at the authoritative server, which favours
lego. Its rfc2136 provider solves authorizations one after the other with RFC2136_SEQUENCE_INTERVAL between
them (default 60 s) and polls every RFC2136_POLLING_INTERVAL (default 2 s): both are set to 1 s. certbot does not check,
it sleeps `--dns-rfc2136-propagation-seconds` (default 60): the lowest value that still worked is used
(found by trying 0, 1, 2, 5 before timing) and reported.

Run: ``/path/to/venv/bin/python bench/dns01.py [--runs 5]`` as root (BIND needs port 53 and a root-owned
folder).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests"))

from common import Run, log, median, run_process, stats  # noqa: E402

ZONE = "zt.example.net"
NAMES = [f"*.{ZONE}", ZONE]
PY = sys.executable
Cmd = tuple[list[str], dict[str, str]]


def start_dns(work: Path) -> tuple[Any, Any, str]:
    """Authoritative BIND on port 53 and a caching-nothing resolver in front; returns both and the secret."""
    import dnsservers as ds

    folder = work / "bind"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    keys = {alg: base64.b64encode(secrets.token_bytes(32)).decode() for alg in ds.ALGORITHMS}
    (folder / "named.conf").write_text(ds._bind_conf(folder, 53, keys))
    for zone in (ds.ZONE, ds.VALIDATION_ZONE):
        (folder / f"{zone}.db").write_text(ds._zone_file(zone))
    log_file = folder / "named.log"
    proc = subprocess.Popen(["/usr/sbin/named", "-g", "-n", "1", "-c", str(folder / "named.conf")],
                            stdin=subprocess.DEVNULL, stdout=log_file.open("ab"), stderr=subprocess.STDOUT)
    ds.wait_answering(53, ZONE, proc, log_file)
    bind = ds.Bind(folder, 53, keys, proc)
    return bind, ds.start_resolver(work / "resolver", bind), keys["hmac-sha256"]


class Tool:
    """One client: a name, a home folder, how to run one issuance."""

    def __init__(self, name: str, home: Path) -> None:
        self.name, self.home = name, home
        home.mkdir(parents=True, exist_ok=True)

    def issue(self) -> Cmd:
        raise NotImplementedError


class Ours(Tool):
    """zerossl-tui from this checkout: DNS provider `bind` (rfc2136), certificate `wild`."""

    def __init__(self, home: Path, pebble: Any, secret: str) -> None:
        super().__init__("zerossl-tui", home)
        self.env = {**os.environ, "ZEROSSL_TUI_CONFIG": str(home / "settings.toml"),
                    "ZEROSSL_TUI_DATA_DIR": str(home / "data"), "PYTHONPATH": str(ROOT)}
        self.env.pop("PYTHONDONTWRITEBYTECODE", None)
        self.cli("provider", "add", "local", "--directory", pebble.directory, "--ca-bundle",
                 str(pebble.ca_bundle), "--email", "bench@example.net")
        # Visibility is checked on the zone's authoritative server, named here so that no lookup can fall back
        # to the system's resolver (the same server the zone's NS record leads to).
        self.cli("dns", "add", "bind", "--type", "rfc2136", "--server", "127.0.0.1:53", "--tsig-key-name", "acme",
                 "--tsig-secret", secret, "--resolver", "127.0.0.1:53")
        self.cli("add", "wild", "-d", NAMES[0], "-d", NAMES[1], "--provider", "local", "--dns", "bind")

    def cli(self, *args: str) -> None:
        done = subprocess.run([PY, "-m", "zerossl_tui", *args], env=self.env, capture_output=True, text=True,
                              cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError(f"zerossl-tui {args[0]}: {done.stderr[-400:]}")

    def issue(self) -> Cmd:
        return [PY, "-m", "zerossl_tui", "issue", "wild"], self.env


class Lego(Tool):
    """lego run --dns rfc2136, ec256; sequence and polling intervals at 1 s (see the module docstring)."""

    def __init__(self, home: Path, pebble: Any, secret: str) -> None:
        super().__init__("lego", home)
        self.pebble = pebble
        self.env = {**os.environ, "LEGO_CA_CERTIFICATES": str(pebble.ca_bundle),
                    "RFC2136_NAMESERVER": "127.0.0.1:53", "RFC2136_TSIG_KEY": "acme.",
                    "RFC2136_TSIG_SECRET": secret, "RFC2136_TSIG_ALGORITHM": "hmac-sha256.",
                    "RFC2136_SEQUENCE_INTERVAL": "1", "RFC2136_POLLING_INTERVAL": "1"}

    def issue(self) -> Cmd:
        cmd = ["lego", "--server", self.pebble.directory, "--accept-tos", "--email", "bench@example.net",
               "--path", str(self.home), "--dns", "rfc2136", "--dns.resolvers", "127.0.0.1:53", "--dns.disable-cp",
               "--key-type", "ec256"]
        for name in NAMES:
            cmd += ["-d", name]
        return [*cmd, "run"], self.env


class Certbot(Tool):
    """certbot certonly --authenticator dns-rfc2136, ECDSA P-256, ``wait`` seconds of propagation sleep."""

    def __init__(self, home: Path, pebble: Any, secret: str, wait: int = 0) -> None:
        super().__init__("certbot", home)
        self.pebble, self.wait = pebble, wait
        self.credentials = home / "rfc2136.ini"
        self.credentials.write_text(f"dns_rfc2136_server = 127.0.0.1\ndns_rfc2136_port = 53\n"
                                    f"dns_rfc2136_name = acme\ndns_rfc2136_secret = {secret}\n"
                                    f"dns_rfc2136_algorithm = HMAC-SHA256\n")
        self.credentials.chmod(0o600)
        self.env = {**os.environ, "REQUESTS_CA_BUNDLE": str(pebble.ca_bundle)}

    def issue(self) -> Cmd:
        cmd = ["certbot", "certonly", "--authenticator", "dns-rfc2136", "--dns-rfc2136-credentials",
               str(self.credentials), "--dns-rfc2136-propagation-seconds", str(self.wait),
               "--server", self.pebble.directory, "--config-dir", str(self.home / "config"),
               "--work-dir", str(self.home / "work"), "--logs-dir", str(self.home / "logs"),
               "--register-unsafely-without-email", "--agree-tos", "--non-interactive", "--key-type", "ecdsa",
               "--elliptic-curve", "secp256r1", "--cert-name", "wild", "--force-renewal"]
        for name in NAMES:
            cmd += ["-d", name]
        return cmd, self.env


def once(tool: Tool) -> Run:
    cmd, env = tool.issue()
    run, _ = run_process(cmd, env, cwd=ROOT, timeout=600)
    return run


def lowest_certbot_wait(tool: Certbot, tries: tuple[int, ...] = (0, 1, 2, 5)) -> int:
    """The lowest propagation sleep with which certbot's order succeeds twice in a row."""
    for wait in tries:
        tool.wait = wait
        if once(tool).ok and once(tool).ok:
            return wait
    tool.wait = 60
    return 60


def interleave(tools: list[Tool], runs: int) -> dict[str, list[Run]]:
    """A warm-up each (account registration), then ``runs`` rounds, the order rotated every round."""
    for tool in tools:
        first = once(tool)
        if not first.ok:
            raise RuntimeError(f"{tool.name} warm-up failed: {first.detail}")
    out: dict[str, list[Run]] = {t.name: [] for t in tools}
    for i in range(runs):
        for tool in tools[i % len(tools):] + tools[:i % len(tools)]:
            result = once(tool)
            out[tool.name].append(result)
            log(f"  {tool.name:<12} run {i + 1}: {result.seconds:7.3f} s" + ("" if result.ok else f" FAILED "
                                                                            f"{result.detail}"))
    return out


def pair_ratios(ours: list[Run], peer: list[Run]) -> dict[str, Any]:
    pairs = [o.seconds / p.seconds for o, p in zip(ours, peer, strict=False) if o.ok and p.ok]
    return {"pairs": [round(r, 4) for r in pairs], "median": None if not pairs else round(median(pairs) or 0, 4)}


def main() -> int:
    """Run the comparison and merge it into results.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="print the JSON only")
    args = parser.parse_args()
    from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer

    subprocess.run([PY, "-m", "compileall", "-q", str(ROOT / "zerossl_tui")], check=True)
    with tempfile.TemporaryDirectory(prefix="zt-bench-dns01-") as tmp:
        work = Path(tmp)
        bind, resolver, secret = start_dns(work)
        pebble = PebbleServer(work / "pebble", PebbleOptions(nonce_reject=0, va_nosleep=True, authz_reuse=0,
                                                             dns_server=resolver.server)).start()
        try:
            section = measure(work, pebble, secret, args.runs)
        finally:
            pebble.stop()
            for server in (resolver, bind):
                server.proc.terminate()
                server.proc.wait(timeout=10)
    print(json.dumps(section, indent=2))
    if not args.no_write:
        path = HERE / "results.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data["dns01"] = section
        path.write_text(json.dumps(data, indent=2) + "\n")
    return 0


def measure(work: Path, pebble: Any, secret: str, runs: int) -> dict[str, Any]:
    """Warm-ups, certbot's lowest working sleep, the interleaved rounds, and the summary."""
    tools: list[Tool] = [Ours(work / "ours", pebble, secret)]
    notes = ["lego: RFC2136_SEQUENCE_INTERVAL=1 and RFC2136_POLLING_INTERVAL=1 (defaults 60 s and 2 s); "
             "--dns.disable-cp (its full check looks NS names up through the system resolver, off-machine)"]
    if shutil.which("lego"):
        tools.append(Lego(work / "lego", pebble, secret))
    if shutil.which("certbot"):
        certbot = Certbot(work / "certbot", pebble, secret)
        wait = lowest_certbot_wait(certbot)
        notes.append(f"certbot: --dns-rfc2136-propagation-seconds {wait} (lowest of 0, 1, 2, 5 that worked "
                     "twice; it does not check visibility, it sleeps)")
        tools.append(certbot)
    log("dns01: one wildcard + apex certificate through rfc2136")
    results = interleave(tools, runs)
    ours = results["zerossl-tui"]
    ratios = {name: pair_ratios(ours, res) for name, res in results.items() if name != "zerossl-tui"}
    peer_medians = {n: median([r.seconds for r in res if r.ok]) for n, res in results.items() if n != "zerossl-tui"}
    faster = min((n for n in peer_medians if peer_medians[n] is not None), key=lambda n: peer_medians[n] or 0,
                 default=None)
    got = ratios[faster]["median"] if faster else None
    return {"title": "one wildcard + apex certificate through rfc2136 (BIND + Pebble): one process",
            "names": NAMES, "tools": {n: stats(r) for n, r in results.items()}, "ratios_ours_over_peer": ratios,
            "target": {"peer": faster, "max_ratio": 0.5, "ratio": got, "met": None if got is None else got <= 0.5},
            "notes": notes}


if __name__ == "__main__":
    raise SystemExit(main())
