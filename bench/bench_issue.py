"""Issuance and renewal, zerossl-tui vs uacme, certbot and lego: each one a PROCESS, on one local Pebble.

Scenarios (wall time of the whole process, median of N runs, tools interleaved run by run in a rotating
order, ratios ours/peer taken pair by pair, i.e. run i of ours against run i of the peer):
  a  one certificate, one name
  b  one order of 10 names
  c  10 separate orders (10 processes in a row for every tool; ours also as one `renew --force` process)
  d  100 due certificates renewed: ours `zerossl-tui renew` (one call, default settings) vs a loop of
     `uacme issue` over the 100, `certbot renew` over N lineages and a loop of `lego renew` over N names
     (N < 100 when a full 100 takes too long; their time is scaled by 100/N, and results.json says so).

Every client has registered its account in a warm-up run before timing (as a peer keeps its own), and makes
a fresh EC P-256 certificate key per order (uacme keeps the key of an identity, as it always does).
Run alone: ``.venv/bin/python bench/bench_issue.py [--runs 5] [--only a,b] [--peers uacme,certbot]``; the
full suite with results.json and the chart: ``.venv/bin/python bench/run.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402 - after the path set-up above
    PEERS,
    VENV_PY,
    Certbot,
    Cmd,
    Ours,
    Run,
    Tool,
    log,
    median,
    stats,
    timed,
    wait_port_free,
)

OURS = "zerossl-tui"
TARGETS = {"a": ("uacme", 1.0), "b": ("uacme", 0.5), "d": ("uacme", 0.1)}
RENEW_VALIDITY = 90  # seconds: every certificate of Pebble "d" is due 45 s after issuance (1/2 lifetime left)


def pair_ratios(ours: list[Run], peer: list[Run], scale: float = 1.0) -> dict[str, Any]:
    """ours_i / (peer_i * scale) for every run i where both succeeded."""
    pairs = [o.seconds / (p.seconds * scale) for o, p in zip(ours, peer, strict=False) if o.ok and p.ok]
    return {"pairs": [round(r, 4) for r in pairs], "median": None if not pairs else round(median(pairs) or 0, 4)}


def interleave(tools: list[Tool], runs: int, make: Callable[[Tool], list[Cmd]],
               limits: dict[str, int] | None = None, before: Callable[[Tool], None] | None = None,
               verify: Callable[[Tool, Run], Run] | None = None, warmup: bool = True) -> dict[str, list[Run]]:
    """``runs`` rounds; in round i the tools run one after the other, the order rotated by i."""
    limits = limits or {}
    out: dict[str, list[Run]] = {t.name: [] for t in tools}
    if warmup:
        for tool in tools:
            if before:
                before(tool)
            first = timed(tool, make(tool))
            if not first.ok:
                raise RuntimeError(f"{tool.name} warm-up failed: {first.detail}")
    for i in range(runs):
        order = tools[i % len(tools):] + tools[:i % len(tools)]
        for tool in order:
            if len(out[tool.name]) >= limits.get(tool.name, runs):
                continue
            if before:
                before(tool)
            result = timed(tool, make(tool))
            if verify:
                result = verify(tool, result)
            out[tool.name].append(result)
            failed = "" if result.ok else f"  FAILED {result.detail}"
            log(f"  {tool.name:<12} run {i + 1}: {result.seconds:7.3f} s{failed}")
    return out


SHORT = {"a": "one certificate", "b": "one order of 10 names", "c": "10 separate orders",
         "d": "100 due renewals"}


def summarize(key: str, title: str, results: dict[str, list[Run]], scale: dict[str, float] | None = None,
              notes: list[str] | None = None, ours_name: str = OURS) -> dict[str, Any]:
    """Stats per tool, pairwise ratios of ours against each peer, the target when there is one."""
    scale = scale or {}
    tools = {name: stats(runs) for name, runs in results.items()}
    for name, factor in scale.items():
        if name in tools and factor != 1.0:
            tools[name]["scaled_by"] = round(factor, 4)
            med = tools[name]["median_s"]
            tools[name]["median_s_scaled"] = None if med is None else round(med * factor, 4)
    ratios: dict[str, Any] = {}
    ours_variants = [n for n in results if n.startswith(OURS)]
    for variant in ours_variants:
        for peer, runs in results.items():
            if peer.startswith(OURS):
                continue
            label = peer if variant == ours_name else f"{peer} [{variant}]"
            ratios[label] = pair_ratios(results[variant], runs, scale.get(peer, 1.0))
    section: dict[str, Any] = {"title": title, "short": SHORT.get(key, title), "tools": tools,
                               "ratios_ours_over_peer": ratios}
    if key in TARGETS:
        peer, limit = TARGETS[key]
        got = ratios.get(peer, {}).get("median")
        section["target"] = {"peer": peer, "max_ratio": limit, "ratio": got,
                             "met": None if got is None else got <= limit}
    if notes:
        section["notes"] = notes
    return section


def domains_for(tool: Tool, prefix: str, count: int) -> list[str]:
    tag = "zt" if tool.name.startswith(OURS) else tool.name
    if count == 1:
        return [f"{prefix}.{tag}.example.test"]
    return [f"{prefix}{k}.{tag}.example.test" for k in range(count)]


# -- scenarios a, b, c -----------------------------------------------------------------------------------------


def scenario_a(tools: list[Tool], runs: int, limits: dict[str, int]) -> dict[str, Any]:
    log("a: one certificate")
    res = interleave(tools, runs, lambda t: [t.issue("a", domains_for(t, "a", 1))], limits)
    return summarize("a", "one certificate (1 name): one process", res)


def scenario_b(tools: list[Tool], runs: int, limits: dict[str, int]) -> dict[str, Any]:
    log("b: one order of 10 names")
    res = interleave(tools, runs, lambda t: [t.issue("b", domains_for(t, "b", 10))], limits)
    return summarize("b", "one order of 10 names: one process", res)


def scenario_c(tools: list[Tool], runs: int, limits: dict[str, int]) -> dict[str, Any]:
    log("c: 10 separate orders")
    ours = next(t for t in tools if t.name == OURS)
    assert isinstance(ours, Ours)
    names = [f"c{k}" for k in range(10)]
    for k, name in enumerate(names):
        ours.add(name, [f"c{k}.zt.example.test"])
    one_process = OneProcess(f"{OURS} (one process)", ours.pebble, ours.home, names=names, ours=ours)

    def make(tool: Tool) -> list[Cmd]:
        if isinstance(tool, OneProcess):
            return [tool.ours.renew(tool.names, force=True)]
        return [tool.issue(f"c{k}", [f"c{k}.{'zt' if tool.name == OURS else tool.name}.example.test"])
                for k in range(10)]

    res = interleave([*tools, one_process], runs, make, limits)
    return summarize("c", "10 separate orders: 10 processes in a row (ours also as one renew process)", res,
                     notes=[f"'{one_process.name}' is `zerossl-tui renew c0 .. c9 --force`: the 10 orders in "
                            "one process, concurrently (default concurrency 4)"])


class OneProcess(Tool):
    """Our 10 orders in one `renew --force` process (a variant of ours, paired with the peers' loops)."""

    def __init__(self, name: str, pebble: Any, home: Path, *, names: list[str], ours: Ours) -> None:
        super().__init__(name, pebble, home)
        self.names, self.ours = names, ours


# -- scenario d: 100 due renewals ------------------------------------------------------------------------------


def scenario_d(pebble: Any, work: Path, peers: list[str], runs: int, limits: dict[str, int],
               certbot_n: int, lego_n: int, count: int = 100) -> dict[str, Any]:
    """On a Pebble whose certificates live RENEW_VALIDITY seconds, so that they come due by themselves."""
    log(f"d: {count} due renewals (Pebble validity {RENEW_VALIDITY} s)")
    names = [f"d{k:03d}" for k in range(count)]
    ours = Ours(OURS, pebble, work / "d-ours")
    ours.setup()
    _bulk_add(ours, names)
    log(f"  setup: zerossl-tui issues {count} certificates in one renew --force")
    ours.cli("renew", "--force", timeout=3600)
    tools: list[Tool] = [ours]
    scale: dict[str, float] = {}
    sizes = {"uacme": count, "certbot": min(certbot_n, count), "lego": min(lego_n, count)}
    for peer in peers:
        tool = PEERS[peer](peer, pebble, work / f"d-{peer}")
        if not tool.available():
            continue
        tool.setup()
        n = sizes[peer]
        scale[peer] = count / n
        tool.renew_names = [f"d{k:03d}.{peer}.example.test" for k in range(n)]  # type: ignore[attr-defined]
        log(f"  setup: {peer} issues {n} certificates")
        setup = timed(tool, [tool.issue(d, [d]) for d in tool.renew_names])  # type: ignore[attr-defined]
        if not setup.ok:
            raise RuntimeError(f"{peer} setup for d failed: {setup.detail}")
        tools.append(tool)

    def make(tool: Tool) -> list[Cmd]:
        if isinstance(tool, Ours):
            return [tool.renew([], force=False)]
        if isinstance(tool, Certbot):
            return [tool.renew_all()]
        return [tool.issue(d, [d], force=False) for d in tool.renew_names]  # type: ignore[attr-defined]

    res = interleave(tools, runs, make, limits, before=lambda t: _wait_until_due(t, count),
                     verify=lambda t, r: _verify_renewed(t, r, count), warmup=False)
    notes = [f"Pebble certificateValidityPeriod = {RENEW_VALIDITY} s: certificates come due on their own "
             "(ours: 1/2 of a lifetime of 10 days or less left; uacme, certbot, lego: fewer than 30 days left)",
             "ours: one `zerossl-tui renew` (no names, no --force) with the default [renewal] concurrency = 4",
             f"uacme: a loop of {sizes['uacme']} `uacme issue NAME` processes (no -f: due by date)"]
    if "certbot" in scale:
        notes.append(f"certbot: one `certbot renew --no-random-sleep-on-renew` over {sizes['certbot']} lineages, "
                     f"time x {scale['certbot']:.0f} to stand for {count} (its renew is serial)")
    if "lego" in scale:
        notes.append(f"lego: a loop of {sizes['lego']} `lego renew --days 30` processes, time x "
                     f"{scale['lego']:.0f} to stand for {count}")
    return summarize("d", f"{count} due certificates renewed", res, scale, notes)


def _bulk_add(ours: Ours, names: list[str]) -> None:
    """Add the certificates through the service API in one process (100 CLI processes would only cost time)."""
    code = (
        "import sys\n"
        "from zerossl_tui.service.service import CertificateService\n"
        "service = CertificateService()\n"
        "port = int(sys.argv[1])\n"
        "for name in sys.argv[2:]:\n"
        "    service.add_certificate(name, [name + '.zt.example.test'], 'local', http_port=port,"
        " http_bind='127.0.0.1')\n"
    )
    done = subprocess.run([str(VENV_PY), "-c", code, str(ours.pebble.http_port), *names], env=ours.env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"adding {len(names)} certificates failed: {done.stderr[-600:]}")
    ours.added.update(names)


def _wait_until_due(tool: Tool, count: int) -> None:
    """Ours must find every certificate due before the timed call: wait (untimed) for the latest one."""
    if not isinstance(tool, Ours):
        return
    rows = json.loads(tool.cli("list", "--json").stdout)
    latest = max(datetime.fromisoformat(r["next_renewal"].replace("Z", "+00:00")) for r in rows)
    wait = (latest - datetime.now(UTC)).total_seconds() + 1.0
    if wait > 0:
        log(f"  waiting {wait:.0f} s until all {count} are due")
        time.sleep(wait)


def _verify_renewed(tool: Tool, result: Run, count: int) -> Run:
    """A run that renewed fewer than it should is a failure, not a fast run."""
    if not result.ok:
        return result
    if isinstance(tool, Ours):
        states = json.loads(tool.cli("list", "--json").stdout)
        fresh = sum(1 for r in states if r["status"] == "valid")
        if fresh < count:
            return Run(result.seconds, result.cpu, False, f"only {fresh} of {count} valid after renew")
    return result


# -- command line --------------------------------------------------------------------------------------------


def build_tools(pebble: Any, work: Path, peers: list[str]) -> list[Tool]:
    ours = Ours(OURS, pebble, work / "ours")
    tools: list[Tool] = [ours]
    for peer in peers:
        tool = PEERS[peer](peer, pebble, work / peer)
        if tool.available():
            tools.append(tool)
        else:
            log(f"{peer}: not available here, skipped")
    for tool in tools:
        log(f"setup {tool.name}")
        wait_port_free(pebble.http_port)
        tool.setup()
    return tools


def run_issue_benchmarks(work: Path, *, runs: int, only: set[str], peers: list[str], limits: dict[str, int],
                         certbot_n: int, lego_n: int, trust: Any = None, renew_count: int = 100) -> dict[str, Any]:
    """Scenarios a-d; returns the ``scenarios`` part of results.json and the Pebble binaries used."""
    import tempfile

    from common import start_pebble

    work = Path(tempfile.mkdtemp(prefix="issue-", dir=work))  # fresh homes: accounts belong to one Pebble
    out: dict[str, Any] = {}
    binaries: list[str] = []
    if only & {"a", "b", "c"}:
        pebble = start_pebble(work / "pebble-abc")
        binaries.append(pebble.binary)
        try:
            if trust is not None:
                trust.add(pebble.ca_bundle, work / "pebble-abc")
            tools = build_tools(pebble, work, peers)
            if "a" in only:
                out["a"] = scenario_a(tools, runs, limits)
            if "b" in only:
                out["b"] = scenario_b(tools, runs, limits)
            if "c" in only:
                out["c"] = scenario_c(tools, runs, limits)
        finally:
            if trust is not None:
                trust.undo()
            pebble.stop()
    if "d" in only:
        pebble = start_pebble(work / "pebble-d", validity_seconds=RENEW_VALIDITY)
        binaries.append(pebble.binary)
        try:
            if trust is not None:
                trust.add(pebble.ca_bundle, work / "pebble-d")
            out["d"] = scenario_d(pebble, work, peers, runs, limits, certbot_n, lego_n, renew_count)
        finally:
            if trust is not None:
                trust.undo()
            pebble.stop()
    return {"scenarios": out, "pebble_binaries": sorted(set(binaries))}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runs", type=int, default=5, help="timed runs per tool and scenario (default 5)")
    parser.add_argument("--only", default="a,b,c,d", help="scenarios, comma-separated (default a,b,c,d)")
    parser.add_argument("--peers", default="uacme,certbot,lego", help="peers to compare with (default all)")
    parser.add_argument("--lego-runs", type=int, default=0,
                        help="fewer timed runs for lego in b, c, d (0: same as --runs); its 10-name order "
                             "takes ~50 s")
    parser.add_argument("--certbot-renew-n", type=int, default=10, help="lineages in certbot's renew (d)")
    parser.add_argument("--lego-renew-n", type=int, default=5, help="names in lego's renew loop (d)")
    parser.add_argument("--renew-count", type=int, default=100, help="due certificates in scenario d")
    parser.add_argument("--pebble-ari", action="store_true",
                        help="use Pebble 2.6 (ARI) rather than the plain Debian 12 Pebble 2.4 (see README.md)")
    parser.add_argument("--work", type=Path, default=None, help="work folder (default: a fresh temp folder)")


def limits_from(args: argparse.Namespace) -> dict[str, int]:
    return {"lego": args.lego_runs} if args.lego_runs else {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args()
    import tempfile

    from common import PEBBLE_ARI, UacmeTrust

    PEBBLE_ARI["value"] = args.pebble_ari
    work = args.work or Path(tempfile.mkdtemp(prefix="zt-bench-"))
    trust = UacmeTrust() if UacmeTrust.possible() else None
    result = run_issue_benchmarks(work, runs=args.runs, only=set(args.only.split(",")),
                                  peers=[p for p in args.peers.split(",") if p], limits=limits_from(args),
                                  certbot_n=args.certbot_renew_n, lego_n=args.lego_renew_n, trust=trust,
                                  renew_count=args.renew_count)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
