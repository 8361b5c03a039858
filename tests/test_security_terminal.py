"""Terminal escapes from outside (a CA's answer, the journal, the settings file) never reach the terminal
raw: every text output of the real CLI shows them as visible escapes such as ``\\x1b``."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import Home
from hypothesis import given
from hypothesis import strategies as st

from zerossl_tui.core.text import printable
from zerossl_tui.service.service import CertificateService

HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\u202eevil\x9b1m\r\x08"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\r", "\x08")


def assert_no_raw_control(text: str) -> None:
    """No control character but line breaks in ``text`` (what a terminal would act on)."""
    bad = [ch for ch in text if ch in RAW or (ord(ch) < 32 and ch != "\n")]
    assert not bad, f"raw control characters {bad!r} in {text!r}"


@given(st.text())
def test_printable_leaves_nothing_a_terminal_acts_on(text: str) -> None:
    shown = printable(text)
    assert "\n" not in shown
    assert_no_raw_control(shown)


@given(st.text())
def test_printable_keep_lines_keeps_only_line_breaks(text: str) -> None:
    shown = printable(text, keep_lines=True)
    assert shown.count("\n") == text.count("\n")
    assert_no_raw_control(shown)


def test_printable_shows_escapes_visibly() -> None:
    assert printable("a\x1b[31mb") == "a\\x1b[31mb"
    assert printable("x\u202ey") == "x\\u202ey"
    assert printable("one\n  two") == "one two"


def journal_with_hostile_order(home: Home) -> None:
    """A certificate whose journal holds a CA problem detail full of escapes (as a hostile CA sends)."""
    home.run("add", "shop", "-d", "shop.example.com", "--provider", "letsencrypt", check=True)
    service = CertificateService()
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    order = service.journal.start_order("shop", at)
    service.journal.add_event(order, "failed", f"CA said: {HOSTILE}", at)
    service.journal.finish_order(order, "failed", at, error_type="malformed", error_detail=HOSTILE)


def test_log_shows_ca_text_escaped(home: Home) -> None:
    journal_with_hostile_order(home)
    done = home.run("log", "shop", check=True)
    assert_no_raw_control(done.stdout + done.stderr)
    assert "CA said: \\x1b]0;owned\\x07" in done.stdout


def test_log_json_keeps_ca_text_exact(home: Home) -> None:
    journal_with_hostile_order(home)
    done = home.run("log", "shop", "--json", check=True)
    assert_no_raw_control(done.stdout)
    assert "\\u001b]0;owned" in done.stdout  # JSON escapes it; a script gets the exact text back


def test_list_shows_no_raw_escapes(home: Home) -> None:
    journal_with_hostile_order(home)
    done = home.run("list", check=True)
    assert "shop" in done.stdout
    assert_no_raw_control(done.stdout + done.stderr)


def hostile_provider_file(home: Home) -> None:
    """A settings file (hand-edited, or written by a tool) whose provider URL holds escapes."""
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text(
        '[providers.evil]\ndirectory = "https://127.0.0.1:1/dir\\u001b[2J\\u001b]0;owned\\u0007"\n')


def test_provider_list_shows_no_raw_escapes(home: Home) -> None:
    hostile_provider_file(home)
    done = home.run("provider", "list")
    assert_no_raw_control(done.stdout + done.stderr)
    # Shown visibly, or refused at load (exit 2); never sent raw.
    assert "\\x1b[2J" in done.stdout + done.stderr or done.returncode == 2


def test_hook_output_in_progress_lines_is_escaped(home: Home, tmp_path: Path) -> None:
    hook = tmp_path / "hook.sh"
    hook.write_text('#!/bin/sh\nprintf "hook says \\033]0;owned\\007\\033[2J\\n"\nexit 3\n')
    hook.chmod(0o755)
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text(f'[renewal]\nfailure_hook = "{hook}"\n[providers.down]\n'
                           'directory = "https://127.0.0.1:1/directory"\n')
    home.run("add", "shop", "-d", "shop.example.com", "--provider", "down", check=True)
    done = home.run("issue", "shop", "--verbose", timeout=60)
    assert done.returncode == 1
    assert "hook says \\x1b]0;owned\\x07\\x1b[2J" in done.stderr
    assert_no_raw_control(done.stdout + done.stderr)


@pytest.mark.timeout(60)
def test_daemon_log_lines_show_no_raw_escapes(tmp_path: Path) -> None:
    folder = tmp_path / "conf\x1b]0;owned\x07"
    home = Home(tmp_path, folder / "settings.toml", tmp_path / "data")
    home.run("add", "shop", "-d", "shop.example.com", "--provider", "letsencrypt", check=True)
    with subprocess.Popen([sys.executable, "-m", "zerossl_tui", "daemon"], env=home.env(), text=True,
                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) as proc:
        assert proc.stderr is not None
        first = proc.stderr.readline()  # blocks until the daemon says it started (or exits)
        proc.terminate()
        rest = proc.stderr.read()
    assert "daemon started" in first and "conf\\x1b]0;owned\\x07" in first
    assert_no_raw_control(first + rest)
