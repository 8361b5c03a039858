"""Crash safety: SIGKILL `renew --force` at random moments, 200 times, and check what a web server would read.

Three certificates (an EC key, an RSA key, and a reused key), each served through certfile, keyfile, fullchain
and chainfile, are renewed over and over by real `python -m zerossl_tui` processes against a real Pebble (5%
of nonces rejected), each killed with SIGKILL after a random delay: half of the kills anywhere in the run,
half in the last stretch (after the CA said "processing"), where the certificate is downloaded, stored,
deployed and journaled. After every kill the served files and the store are checked; at the end the journal
must have healed every order the dead processes left 'running', and one more renewal must just work.

``ZT_CRASH_KILLS`` and ``ZT_CRASH_SEED`` change the number of kills and the random sequence.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleOptions, PebbleServer
from zerossl_tui.engine.keys import key_matches_cert, load_key, parse_cert, split_pem_certs
from zerossl_tui.storage.journal import INTERRUPTED, Journal
from zerossl_tui.storage.store import POINTER, CertStore

pytestmark = pytest.mark.pebble

KILLS = int(os.environ.get("ZT_CRASH_KILLS", "200"))
SEED = int(os.environ.get("ZT_CRASH_SEED", "20240611"))
LATE_WINDOW = 0.15  # seconds after "processing": download, store, deploy, journal (measured 40-170 ms)
CERTS = (("ec", ["--key-type", "ec256"]), ("rsa", ["--key-type", "rsa2048"]), ("kept", ["--reuse-key"]))
SERVED = ("key.pem", "cert.pem", "fullchain.pem", "chain.pem")


@dataclass
class Tally:
    """What the kill loop saw, shared by its threads."""

    kills: int = 0
    finished: int = 0
    late: int = 0
    problems: list[str] = field(default_factory=list, repr=False)
    pending: list[str] = field(default_factory=list, repr=False)  # mismatches an unfinished deployment explains
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PebbleServer]:
    # Pebble 2.4 (no ARI): Pebble 2.6 cannot find the order of a certificate whose serial needs a leading
    # zero byte in its ARI CertID (about 1 in 100), so every later renewal naming it in `replaces` fails
    # with serverInternal, and that certificate could not be renewed for the rest of the run.
    options = PebbleOptions(nonce_reject=None, prefer_ari=False)  # None: Pebble's own 5% bad nonces
    server = PebbleServer(tmp_path_factory.mktemp("crash-ca"), options)
    server.start()
    yield server
    server.stop()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base class signature
        pass


@pytest.fixture
def webroot(tmp_path: Path, ca: PebbleServer) -> Iterator[Path]:
    """A web server on the CA's http-01 port serving a web root, so that three processes can validate at
    once (each built-in responder would want the port for itself)."""
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", ca.http_port), partial(_Quiet, directory=str(root)))
    server.daemon_threads = True
    server.request_queue_size = 64
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root
    server.shutdown()
    server.server_close()


def _served(home: Home, name: str) -> dict[str, Path]:
    return {f: home.root / "srv" / name / f for f in SERVED}


def _set_up(home: Home, ca: PebbleServer, webroot: Path, only: tuple[str, ...] = ()) -> None:
    home.run("provider", "add", "local", "--directory", ca.directory, "--ca-bundle", str(ca.ca_bundle),
             check=True)
    for name, extra in CERTS:
        if only and name not in only:
            continue
        files = _served(home, name)
        home.run("add", name, "-d", f"{name}.example.test", "--provider", "local", "--webroot",
                 str(webroot), "--keyfile", str(files["key.pem"]),
                 "--certfile", str(files["cert.pem"]), "--fullchain", str(files["fullchain.pem"]),
                 "--chainfile", str(files["chain.pem"]), *extra, check=True)
        home.run("issue", name, check=True)


def served_problems(home: Home, name: str) -> list[str]:
    """What is wrong with the files a web server reads for ``name`` (empty: a complete, matching set)."""
    data = {f: p.read_bytes() for f, p in _served(home, name).items()}
    problems = []
    for f, content in data.items():
        if not content.rstrip().endswith(b"-----") or not content.endswith(b"\n"):
            problems.append(f"{name}/{f} is truncated ({len(content)} bytes)")
    if problems:
        return problems
    load_key(data["key.pem"])
    for f in ("cert.pem", "fullchain.pem"):
        blocks = split_pem_certs(data[f])
        parse_cert(blocks[0])
        if b"".join(blocks) != data[f]:
            problems.append(f"{name}/{f} holds something besides whole certificates")
        if not key_matches_cert(data["key.pem"], data[f]):
            problems.append(f"{name}/key.pem does not match {name}/{f}")
    if not split_pem_certs(data["chain.pem"]):
        problems.append(f"{name}/chain.pem holds no certificate")
    return problems


def store_problems(home: Home, name: str) -> list[str]:
    """What is wrong with the store's current version of ``name`` (empty: complete and consistent)."""
    store = CertStore(home.data)
    pointer = (home.data / "certificates" / name / POINTER).read_text().strip()
    current = store.current(name)
    if current is None:
        return [f"{name}: the store has no current version"]
    if current.version != pointer:
        return [f"{name}: `current` names {pointer!r}, which is not complete (using {current.version})"]
    problems = []
    if not key_matches_cert(current.key_pem, current.cert_pem):
        problems.append(f"{name}: current key does not match current certificate")
    if current.fullchain_pem != current.cert_pem + current.chain_pem:
        problems.append(f"{name}: current fullchain is not cert + chain")
    if parse_cert(current.cert_pem).serial != current.meta.get("serial"):
        problems.append(f"{name}: meta.json serial is not the certificate's")
    return problems


def _interrupted_deploy_pending(home: Home, name: str) -> bool:
    return CertStore(home.data).pending_deploy(name) is not None


def _inode(path: Path) -> int:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return 0


def _kill_when_replaced(proc: subprocess.Popen[bytes], path: Path, timeout: float) -> None:
    """Spin until ``path`` is replaced (a new inode: the rename happened), then return at once."""
    before, end = _inode(path), time.monotonic() + timeout
    while proc.poll() is None and _inode(path) == before and time.monotonic() < end:
        pass


def _renew_and_kill(home: Home, name: str, rng: random.Random, typical: float, tally: Tally) -> None:
    """One `renew NAME --force`, SIGKILLed anywhere (40%), in the last stretch (40%), or the very moment
    the first served file was replaced (20%: right between the key and the certificate)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "zerossl_tui", "renew", name, "--force", "-v"], env=home.env(),
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    mode = rng.choices(("anywhere", "late", "replaced"), (4, 4, 2))[0]
    seen = b""
    if mode == "late":
        for line in proc.stderr:  # progress lines are flushed one by one
            seen += line
            if b": processing:" in line:
                break
        time.sleep(rng.uniform(0, LATE_WINDOW))
    elif mode == "replaced":
        first = "cert.pem" if name == "kept" else "key.pem"  # a reused key is never rewritten
        _kill_when_replaced(proc, _served(home, name)[first], typical * 4)
    else:
        time.sleep(rng.uniform(0, typical))
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    err = seen + proc.communicate(timeout=60)[1]
    # The record first, then the files: the final checks and a plain `renew` heal every pending deployment,
    # so the files may be mended (and the record removed) between the two reads, never the reverse.
    pending = _interrupted_deploy_pending(home, name)
    problems = served_problems(home, name) + store_problems(home, name)
    with tally.lock:
        if killed:
            tally.kills += 1
            tally.late += mode != "anywhere"
        else:
            tally.finished += 1
            if proc.returncode != 0:
                tally.problems.append(f"{name}: an unkilled renewal failed: {err.decode()[-300:]}")
        mismatch = [p for p in problems if "does not match" in p]
        if mismatch and killed and pending:
            tally.pending.extend(mismatch)
            problems = [p for p in problems if p not in mismatch]
        tally.problems.extend(problems)


def _typical_duration(home: Home) -> float:
    times = []
    for name, _ in CERTS:
        start = time.monotonic()
        home.run("renew", name, "--force", check=True)
        times.append(time.monotonic() - start)
    return sorted(times)[len(times) // 2]


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sigkill_during_renewals_never_breaks_served_files_or_store(home: Home, ca: PebbleServer,
                                                                   webroot: Path) -> None:
    _set_up(home, ca, webroot)
    typical = _typical_duration(home)
    tally = Tally()

    def loop(name: str, seed: int) -> None:
        rng = random.Random(seed)
        while True:
            with tally.lock:
                if tally.kills >= KILLS or len(tally.problems) > 20:
                    return
            _renew_and_kill(home, name, rng, typical, tally)

    threads = [threading.Thread(target=loop, args=(name, SEED + i)) for i, (name, _) in enumerate(CERTS)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    summary = (f"{tally.kills} kills ({tally.late} late), {tally.finished} finished, "
               f"{len(tally.pending)} mismatches pending heal, {elapsed:.0f} s, "
               f"seed {SEED}, typical run {typical:.2f} s")
    print(summary)
    assert not tally.problems, summary + "\n" + "\n".join(tally.problems)
    assert tally.kills >= KILLS

    # The next start heals: orders of dead processes are closed, interrupted deployments are finished.
    for name, _ in CERTS:
        done = home.run("renew", name, "--force")
        assert done.returncode == 0, done.stderr
        assert served_problems(home, name) == [] and store_problems(home, name) == []
        assert not _interrupted_deploy_pending(home, name)
        assert not list((home.root / "srv" / name).glob(".*.tmp")), "temporary files left beside served ones"
    with Journal(home.data / "journal.sqlite3") as journal:
        orders = [o for name, _ in CERTS for o in journal.orders(name, limit=10_000)]
    assert not [o.id for o in orders if o.result == "running"]
    # How many kills land after the order row exists depends on the machine's load (a busy CI machine
    # spends more of each short run starting Python, a faster order less); a twentieth of the kills healed is the floor.
    assert sum(o.error_type == INTERRUPTED for o in orders) >= KILLS // 20
    assert sum(o.result == "issued" for o in orders) >= tally.finished + len(CERTS)


# -- the exact moments, each killed on purpose -------------------------------------------------------------

_KILL_AFTER = """
import os, signal, sys
import zerossl_tui.storage.deploy as deploy
import zerossl_tui.storage.store as store
from zerossl_tui.cli.main import main

where = os.environ["ZT_KILL_AFTER"]

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if where == "key-renamed":
    real_replace = deploy.replace_with
    def replace_with(tmp, path):
        real_replace(tmp, path)
        if path.name == "key.pem":
            die()
    deploy.replace_with = replace_with
elif where == "version-current":
    store.CertStore.deploy = lambda self, spec, stored: die()
elif where == "version-published":
    store.CertStore.begin_deploy = lambda self, name, version, order_id: die()
sys.exit(main(sys.argv[1:]))
"""


def _run_killed_after(home: Home, moment: str, *args: str) -> None:
    env = {**home.env(), "ZT_KILL_AFTER": moment}
    done = subprocess.run([sys.executable, "-c", _KILL_AFTER, *args], env=env, capture_output=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()


@pytest.fixture
def one_cert(home: Home, ca: PebbleServer, webroot: Path) -> Path:
    """Certificate `ec` issued once, with a deploy hook that appends its serial to a file (returned)."""
    hook_log = home.root / "hook.log"
    script = home.root / "hook.py"
    script.write_text("import os, sys\nopen(sys.argv[1], 'a').write(os.environ['ZT_SERIAL'] + '\\n')\n")
    _set_up(home, ca, webroot, only=("ec",))
    home.run("edit", "ec", "--deploy-hook", f"{sys.executable} {script} {hook_log}", check=True)
    return hook_log


def _last_order(home: Home) -> dict[str, object]:
    import json

    done = home.run("log", "ec", "--json", check=True)
    return dict(json.loads(done.stdout)[0])


def test_kill_between_key_and_certificate_is_finished_by_the_next_start(home: Home, one_cert: Path) -> None:
    _run_killed_after(home, "key-renamed", "renew", "ec", "--force")
    assert any("does not match" in p for p in served_problems(home, "ec")), "the kill was meant to split the pair"
    assert _interrupted_deploy_pending(home, "ec")
    done = home.run("renew")  # nothing is due: only the healing runs
    assert done.returncode == 0, done.stderr
    assert served_problems(home, "ec") == [] and store_problems(home, "ec") == []
    assert not _interrupted_deploy_pending(home, "ec")
    current = CertStore(home.data).current("ec")
    assert current is not None and one_cert.read_text().splitlines()[-1] == current.meta["serial"]
    order = _last_order(home)
    assert order["result"] == "issued" and order["serial"] == current.meta["serial"]
    assert any("interrupted process" in str(e["message"]) for e in order["events"])  # type: ignore[attr-defined]
    assert not list((home.root / "srv" / "ec").glob(".*.tmp"))


def test_kill_after_the_new_version_became_current_deploys_it_at_the_next_start(home: Home,
                                                                                 one_cert: Path) -> None:
    before = _served(home, "ec")["cert.pem"].read_bytes()
    _run_killed_after(home, "version-current", "renew", "ec", "--force")
    assert _served(home, "ec")["cert.pem"].read_bytes() == before and served_problems(home, "ec") == []
    current = CertStore(home.data).current("ec")
    assert current is not None and not before.startswith(current.cert_pem)
    assert home.run("renew").returncode == 0  # nothing is due: only the healing runs
    assert _served(home, "ec")["cert.pem"].read_bytes() == current.fullchain_pem
    assert one_cert.read_text().splitlines()[-1] == current.meta["serial"]
    assert _last_order(home)["result"] == "issued"


def test_kill_before_the_new_version_became_current_keeps_the_old_one(home: Home, one_cert: Path) -> None:
    store = CertStore(home.data)
    old = store.current("ec")
    served = _served(home, "ec")["cert.pem"].read_bytes()
    _run_killed_after(home, "version-published", "renew", "ec", "--force")
    assert len(store.versions("ec")) == 2 and store.current("ec") == old  # the new one is stored, not used
    assert _served(home, "ec")["cert.pem"].read_bytes() == served
    assert home.run("renew").returncode == 0
    order = _last_order(home)
    assert order["result"] == "failed" and order["error_type"] == INTERRUPTED
    assert home.run("renew", "ec", "--force").returncode == 0
    assert served_problems(home, "ec") == [] and store_problems(home, "ec") == []


def test_renewing_another_certificate_leaves_an_interrupted_deployment_to_its_own(home: Home, one_cert: Path,
                                                                                   ca: PebbleServer,
                                                                                   webroot: Path) -> None:
    """`issue NAME` / `renew NAME` heal only NAME: another certificate's deploy hook never runs from them."""
    _set_up(home, ca, webroot, only=("rsa",))
    _run_killed_after(home, "key-renamed", "renew", "ec", "--force")
    assert home.run("renew", "rsa", "--force").returncode == 0
    assert home.run("issue", "rsa").returncode == 0
    assert _interrupted_deploy_pending(home, "ec") and not one_cert.exists()  # ec's hook has not run
    assert home.run("renew", "ec").returncode == 0  # nothing due: its own healing runs
    assert not _interrupted_deploy_pending(home, "ec") and served_problems(home, "ec") == []
    current = CertStore(home.data).current("ec")
    assert current is not None and one_cert.read_text().splitlines()[-1] == current.meta["serial"]


def test_interrupt_between_key_and_certificate_puts_the_old_pair_back(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM raises KeyboardInterrupt wherever the main thread is: also between two renames."""
    from zerossl_tui.core.models import CertificateSpec
    from zerossl_tui.storage import deploy as deploy_module

    store = CertStore(tmp_path / "data")
    served = tmp_path / "srv"
    spec = CertificateSpec("s", ("s.example.test",), "local", keyfile=str(served / "key.pem"),
                           certfile=str(served / "cert.pem"), chainfile=str(served / "chain.pem"))
    old = store.save_version("s", b"KEY 1\n", b"CERT 1\n", b"CHAIN 1\n", b"CERT 1\nCHAIN 1\n", {"serial": "1"})
    store.deploy(spec, old)
    real_replace = deploy_module.replace_with

    def interrupted(tmp: Path, path: Path) -> None:
        real_replace(tmp, path)
        if path.name == "key.pem":
            raise KeyboardInterrupt

    monkeypatch.setattr(deploy_module, "replace_with", interrupted)
    new = store.save_version("s", b"KEY 2\n", b"CERT 2\n", b"CHAIN 2\n", b"CERT 2\nCHAIN 2\n", {"serial": "2"})
    with pytest.raises(KeyboardInterrupt):
        store.deploy(spec, new)
    assert (served / "key.pem").read_bytes() == b"KEY 1\n"
    assert (served / "cert.pem").read_bytes() == b"CERT 1\nCHAIN 1\n"
    assert sorted(p.name for p in served.iterdir()) == ["cert.pem", "chain.pem", "key.pem"]


def test_an_order_whose_pid_was_reused_is_healed(tmp_path: Path) -> None:
    """After a crash and a reboot, the dead process's pid soon belongs to another program: still healed."""
    from datetime import UTC, datetime

    path = tmp_path / "journal.sqlite3"
    script = ("import sys; from datetime import UTC, datetime; from pathlib import Path\n"
              "from zerossl_tui.storage.journal import Journal\n"
              "Journal(Path(sys.argv[1])).start_order('shop', datetime.now(UTC))\n")
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        import sqlite3

        with sqlite3.connect(path) as db:  # the dead order's pid now names a live, unrelated process
            db.execute("UPDATE orders SET pid = ?", (other.pid,))
        with Journal(path) as journal:
            assert len(journal.heal(datetime.now(UTC))) == 1
            assert journal.orders("shop")[0].error_type == INTERRUPTED
            mine = journal.start_order("blog", datetime.now(UTC))
            assert journal.heal(datetime.now(UTC)) == [] and journal.orders("blog")[0].id == mine
    finally:
        other.kill()
        other.wait()


def test_a_journal_written_before_pid_start_times_were_kept_still_heals(tmp_path: Path) -> None:
    import sqlite3
    from datetime import UTC, datetime

    from zerossl_tui.storage import journal as journal_module

    path = tmp_path / "journal.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(journal_module.MIGRATIONS[0] + "PRAGMA user_version = 1;")
        db.execute("INSERT INTO orders (cert, started, pid) VALUES ('old', '2025-01-01T00:00:00+00:00', 999999999)")
    with Journal(path) as journal:
        assert len(journal.heal(datetime.now(UTC))) == 1
        assert journal.orders("old")[0].result == "failed"
