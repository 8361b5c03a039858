"""Property test of the command line: random argument lists never end in a traceback.

``zerossl_tui.cli.main.main(argv)`` runs in-process against a settings file in a temporary folder, with
``ZEROSSL_TUI_DEBUG=1`` so that an unexpected exception escapes (and fails the test) instead of being turned
into the last-resort "unexpected ..." line. stdout is as strict as a real UTF-8 terminal. The CA is replaced
by one that cannot be reached (no network at all), and the commands that never return on their own (the
dashboard, `daemon`, `sandbox`) are stubbed. Every outcome must be exit 0, 1 or 2, and a failure must say
why in one line on stderr (one line per certificate for `renew`; `--verbose` progress lines aside).

Derandomized (the same cases on every run); ``ZT_PROPS_SCALE=10`` runs ten times as many, and
``ZT_PROPS_RANDOM=1`` draws new ones.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import examples
from hypothesis import event, example, given
from hypothesis import strategies as st

from zerossl_tui.cli import main as cli_main
from zerossl_tui.core.errors import CaUnreachable
from zerossl_tui.service import accounts, orders

BASELINE = """\
[providers.local]
directory = "https://127.0.0.1:9/dir"

[certificates.a]
domains = ["a.example.test"]
provider = "local"

[certificates.b]
domains = ["b.example.test", "www.b.example.test"]
provider = "local"
webroot = "/nonexistent/www"
"""

COMMANDS = ["provider", "add", "edit", "issue", "renew", "list", "log", "revoke", "remove", "account", "systemd",
            "rollover", "deactivate", "daemon", "sandbox"]
OPTIONS = ["--version", "--help", "-h", "--json", "-q", "-v", "--verbose", "--quiet", "--force", "-d", "--domain",
           "--provider", "--key-type", "--http-port", "--webroot", "--http-bind", "--certfile", "--keyfile",
           "--fullchain", "--chainfile", "--reuse-key", "--no-reuse-key", "--deploy-hook", "--failure-hook",
           "--profile", "--required-profile", "--directory", "--email", "--eab-kid", "--eab-hmac-key", "--api-key",
           "--ca-bundle", "--test", "--limit", "--reason", "--timer", "--no-ui", "--", "-", "--eab-hmac-keyy",
           "--frobnicate", "-x", "--limit=3", "--http-port=0", "--key-type=dsa", "--reason=keyCompromise"]
VALUES = ["a", "b", "c", "local", "zerossl", "letsencrypt", "a.example.test", "*.example.com", "localhost",
          "exa mple.com", "B\u00fccher.example", "ec256", "rsa4096", "dsa", "80", "0", "65536", "-1",
          "99999999999999999999", "1e3", "https://ca.example/dir", "http://ca.example/dir", "ops@example.com",
          "kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W", "not base64!!",
          "superseded", "keyCompromise", "/nonexistent/ca.pem", "echo hi; touch x", "", " ", "..", "a/b",
          "\udcff\udcfe", "caf\udce9", "\u202e", "x" * 300]


@pytest.fixture
def sandboxed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    """Settings and data under tmp_path, no CA reachable, nothing that runs forever."""
    places = {
        "config": tmp_path / "config" / "settings.toml",
        "other": tmp_path / "other" / "settings.toml",
        "folder": tmp_path,
        "garbage": tmp_path / "garbage.toml",
        "deep": tmp_path / "no" / "such" / "folder" / "settings.toml",
    }
    places["garbage"].write_bytes(b"[providers\n\xff = 1\n")
    monkeypatch.chdir(tmp_path)  # a relative --config stays in here
    monkeypatch.setenv("ZEROSSL_TUI_CONFIG", str(places["config"]))
    monkeypatch.setenv("ZEROSSL_TUI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / ".local"))
    monkeypatch.setenv("ZEROSSL_TUI_DEBUG", "1")

    def unreachable(*args: object, **kwargs: object) -> object:
        raise CaUnreachable("cannot connect to 127.0.0.1:9: connection refused (the CA is down?)")

    for module in (accounts, orders):
        monkeypatch.setattr(module, "open_session", unreachable)
    for handler in ("_dashboard", "_daemon", "_sandbox"):
        monkeypatch.setattr(cli_main, handler, lambda args: 0)
    yield places


safe_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=20).filter(
    lambda t: not t.startswith("-"))  # an option-like token could abbreviate --config to a path outside tmp
token = st.one_of(st.sampled_from(COMMANDS), st.sampled_from(OPTIONS), st.sampled_from(VALUES), safe_text)


value = st.sampled_from(VALUES) | safe_text
name = st.sampled_from(["a", "b", "c", "local", "zerossl", "x.y_z-1"]) | value
CERT_OPTIONS = ["--provider", "--key-type", "--http-port", "--webroot", "--http-bind", "--certfile", "--keyfile",
                "--fullchain", "--chainfile", "--deploy-hook", "--failure-hook", "--profile", "--required-profile"]
GRAMMAR: dict[tuple[str, ...], tuple[list[str], list[str]]] = {
    # command words: (options taking a value, flags)
    ("provider", "add"): (["--directory", "--email", "--eab-kid", "--eab-hmac-key", "--api-key", "--ca-bundle"],
                          ["--test"]),
    ("provider", "list"): ([], ["--json"]),
    ("add",): (["-d", *CERT_OPTIONS], ["--reuse-key", "--no-reuse-key"]),
    ("edit",): (["-d", *CERT_OPTIONS], ["--reuse-key", "--no-reuse-key"]),
    ("issue",): ([], ["--json", "-q", "-v"]),
    ("renew",): ([], ["--force", "--json", "-q", "-v"]),
    ("list",): ([], ["--json"]),
    ("log",): (["--limit"], ["--json"]),
    ("revoke",): (["--reason"], ["--json", "-q"]),
    ("remove",): ([], []),
    ("account", "rollover"): ([], []),
    ("account", "deactivate"): ([], []),
    ("systemd",): ([], ["--timer"]),
}
NO_NAME = {("provider", "list"), ("list",), ("systemd",), ("renew",)}


@st.composite
def command_line(draw: st.DrawFn) -> list[str]:
    """A well-formed command with random values (and, now and then, one stray token)."""
    words = draw(st.sampled_from(sorted(GRAMMAR)))
    with_value, flags = GRAMMAR[words]
    out = list(words)
    if words not in NO_NAME or (words == ("renew",) and draw(st.booleans())):
        out.append(draw(name))
    if words == ("add",):
        out += ["-d", draw(st.sampled_from(["a.example.test", "c.example.test"]) | value)]
    for _ in range(draw(st.integers(0, 4))):
        if with_value and draw(st.booleans()):
            out += [draw(st.sampled_from(with_value)), draw(value)]
        elif flags:
            out.append(draw(st.sampled_from(flags)))
    if draw(st.integers(0, 5)) == 0:
        out.insert(draw(st.integers(0, len(out))), draw(token))
    return out


@st.composite
def free_form(draw: st.DrawFn) -> list[str]:
    """A command word or two, then anything."""
    words = draw(st.lists(st.sampled_from(COMMANDS), min_size=0, max_size=2))
    return words + draw(st.lists(token, max_size=8))


@st.composite
def argv(draw: st.DrawFn) -> list[str]:
    """A command line; --config (sometimes added) only ever names a place in tmp."""
    words = draw(command_line() | free_form())
    out: list[str] = []
    for word in words:
        if out and out[-1] == "--config":
            out.append(draw(st.sampled_from(["config", "other", "folder", "garbage", "deep"])))
        else:
            out.append(word)
        if draw(st.integers(0, 14)) == 0:
            out.append("--config")
    if out and out[-1] == "--config":
        out.append("config")
    return out


def run(argv: list[str], places: dict[str, Path]) -> tuple[int, str, str]:
    """``main(argv)`` with real-terminal-like streams; (exit status, stdout, stderr)."""
    args = [str(places[a]) if i and argv[i - 1] == "--config" else a for i, a in enumerate(argv)]
    out_bytes, err_bytes = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_bytes, encoding="utf-8", errors="strict")
    err = io.TextIOWrapper(err_bytes, encoding="utf-8", errors="backslashreplace")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code: int | str | None = cli_main.main(args)
        except SystemExit as exit_:
            code = exit_.code
    out.flush()
    err.flush()
    return int(code or 0) if not isinstance(code, str) else 2, out_bytes.getvalue().decode(), \
        err_bytes.getvalue().decode()


@examples(1500)
@given(argv())
@example(["log", "a", "--limit", "99999999999999999999"])
@example(["add", "c", "-d", "c.example.test", "--certfile", "caf\udce9", "--keyfile", "k"])
@example(["provider", "add", "p", "--directory", "https://caf\udce9.example/dir"])
@example(["--config", "folder", "list"])
@example(["--config", "garbage", "list"])
@example(["renew", "a", "b", "--force"])
@example(["renew", "--force", "-v"])
@example(["revoke", "a", "--reason", "nope"])
@example(["provider", "add", "zerossl", "--eab-kid", "k", "--eab-hmac-keyy", "SECRETSECRET"])
def test_random_arguments_never_traceback(sandboxed: dict[str, Path], argv: list[str]) -> None:
    config = sandboxed["config"]
    config.parent.mkdir(exist_ok=True)
    config.write_text(BASELINE)
    config.with_name("secrets.toml").unlink(missing_ok=True)
    code, _, err = run(argv, sandboxed)
    event(f"exit {code}" + (" (usage)" if "(see `" in err else ""))
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err, err  # (an unexpected exception escapes: ZEROSSL_TUI_DEBUG=1)
    if code == 0:
        return
    verbose = any(a in ("-v", "--verbose") for a in argv)
    lines = [line for line in err.splitlines() if line.strip() and not (verbose and ": error:" not in line)]
    allowed = 2 if "renew" in argv else 1  # renew: one line per certificate that failed (a and b)
    assert 1 <= len(lines) <= allowed, err
    assert all(line.startswith("zerossl-tui") for line in lines), err
