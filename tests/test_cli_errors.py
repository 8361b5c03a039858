"""Bad input and failures through the CLI: one line on stderr, the right exit status, nothing changed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import EAB_HMAC, EAB_KID, Home
from helpers import one_line

from zerossl_tui.devtools.pebble import PebbleServer


def test_wildcard_is_refused_with_reason(home: Home) -> None:
    done = home.run("add", "w", "-d", "*.example.com", "--provider", "letsencrypt")
    assert done.returncode == 2
    assert "dns-01" in one_line(done.stderr)


@pytest.mark.parametrize("bad", ["exa mple.com", "a..example.com", "-lead.example.com", "x" * 64 + ".com",
                                 "localhost", ""])
def test_malformed_names_are_refused(home: Home, bad: str) -> None:
    done = home.run("add", "bad", "-d", bad, "--provider", "letsencrypt")
    assert done.returncode == 2
    assert "domain" in one_line(done.stderr)
    assert not home.config.exists()


def test_too_many_names_are_refused(home: Home) -> None:
    args = ["add", "many", "--provider", "letsencrypt"]
    for i in range(101):
        args += ["-d", f"n{i}.example.com"]
    done = home.run(*args)
    assert done.returncode == 2 and "at most 100" in one_line(done.stderr)


def test_plain_http_directory_is_refused(home: Home) -> None:
    done = home.run("provider", "add", "x", "--directory", "http://ca.example.com/dir")
    assert done.returncode == 2 and "https" in one_line(done.stderr)


@pytest.mark.parametrize(("url", "problem"), [
    ("https://[b]x[/b]/dir", "no valid host name"), ("https://ca.example:port/dir", "no valid host name"),
    ("https://-ca.example/dir", "no valid host name"), ("https://ca.example/" + "d" * 100_000, "longer than 2048")])
def test_directory_without_a_valid_host_is_refused(home: Home, url: str, problem: str) -> None:
    """Saved, such a URL would only fail at the first order, as a CA that 'is not ACME'."""
    done = home.run("provider", "add", "x", "--directory", url)
    assert done.returncode == 2 and problem in one_line(done.stderr)
    assert not home.config.exists()


def test_bad_eab_hmac_value_is_refused_and_not_echoed(home: Home) -> None:
    secret = "not base64!!secret"
    done = home.run("provider", "add", "zerossl", "--eab-kid", "k", "--eab-hmac-key", secret)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "base64url" in line and secret not in line


def test_invalid_toml_names_file_and_line_and_is_left_alone(home: Home) -> None:
    home.config.parent.mkdir(parents=True)
    text = '[providers.local]\ndirectory = "https://x.example/dir"\n[certificates.a\n'
    home.config.write_text(text)
    done = home.run("add", "b", "-d", "b.example.com", "--provider", "local")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert str(home.config) in line and "line 3" in line
    assert home.config.read_text() == text


def test_unknown_key_is_named_with_its_line(home: Home) -> None:
    home.config.parent.mkdir(parents=True)
    home.config.write_text('[certificates.a]\ndomains = ["a.example.com"]\nprovider = "letsencrypt"\ncolour = 1\n')
    done = home.run("list")
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert "colour" in line and "line 4" in line


def test_unknown_certificate_is_a_usage_error(home: Home) -> None:
    done = home.run("issue", "nope")
    assert done.returncode == 2 and "nope" in one_line(done.stderr)


def test_usage_error_is_one_line(home: Home) -> None:
    done = home.run("renew", "--frobnicate")
    assert done.returncode == 2 and "--frobnicate" in one_line(done.stderr)


def test_every_command_has_help(home: Home) -> None:
    for cmd in (["--help"], ["add", "--help"], ["issue", "--help"], ["renew", "--help"], ["list", "--help"],
                ["log", "--help"], ["revoke", "--help"], ["remove", "--help"], ["provider", "add", "--help"],
                ["account", "rollover", "--help"], ["daemon", "--help"], ["sandbox", "--help"]):
        done = home.run(*cmd)
        assert done.returncode == 0 and "usage:" in done.stdout, cmd


@pytest.mark.pebble
def test_ca_down_fails_cleanly_and_keeps_served_files(home: Home, tmp_path: Path) -> None:
    server = PebbleServer(tmp_path / "p").start()
    try:
        cert, key = home.root / "srv" / "fullchain.pem", home.root / "srv" / "privkey.pem"
        home.run("provider", "add", "local", "--directory", server.directory, "--ca-bundle",
                 str(server.ca_bundle), check=True)
        home.run("add", "s", "-d", "s.example.test", "--provider", "local", "--http-port", str(server.http_port),
                 "--http-bind", "127.0.0.1", "--certfile", str(cert), "--keyfile", str(key), check=True)
        home.run("issue", "s", check=True)
        before = cert.read_bytes(), key.read_bytes()
        settings_before = home.config.read_bytes()
    finally:
        server.stop()
    done = home.run("renew", "--force")
    assert done.returncode == 1
    assert "unreachable" in one_line(done.stderr).lower() or "connect" in done.stderr.lower()
    assert (cert.read_bytes(), key.read_bytes()) == before
    assert home.config.read_bytes() == settings_before
    row = json.loads(home.run("list", "--json").stdout)[0]
    assert row["last_error"]


@pytest.mark.pebble
def test_ca_restart_forgets_account_and_we_register_again(local_home: Home, pebble: PebbleServer,
                                                          tmp_path: Path) -> None:
    server = PebbleServer(tmp_path / "p").start()
    try:
        local_home.run("provider", "add", "fresh", "--directory", server.directory, "--ca-bundle",
                       str(server.ca_bundle), check=True)
        local_home.run("add", "r", "-d", "r.example.test", "--provider", "fresh", "--http-port",
                       str(server.http_port), "--http-bind", "127.0.0.1", check=True)
        local_home.run("issue", "r", check=True)
        server.restart()
        local_home.run("provider", "add", "fresh", "--ca-bundle", str(server.ca_bundle), check=True)
        done = local_home.run("renew", "r", "--force")
        assert done.returncode == 0, done.stderr
    finally:
        server.stop()


@pytest.mark.pebble
def test_account_rollover_then_issue(local_home: Home, pebble: PebbleServer) -> None:
    local_home.run("add", "ro", "-d", "ro.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    local_home.run("issue", "ro", check=True)
    key_file = local_home.data / "accounts" / "local" / "account.key"
    old_key = key_file.read_bytes()
    done = local_home.run("account", "rollover", "local")
    assert done.returncode == 0, done.stderr
    assert key_file.read_bytes() != old_key
    assert local_home.run("issue", "ro").returncode == 0


@pytest.mark.pebble
@pytest.mark.parametrize("action", ["deactivate", "rollover"])
def test_account_action_without_an_account_registers_none(local_home: Home, action: str) -> None:
    """Deactivating (or rolling over) before any order must not register an account just to act on it."""
    done = local_home.run("account", action, "local")
    assert done.returncode == 2 and "has no registered account" in one_line(done.stderr)
    assert not (local_home.data / "accounts" / "local" / "account.key").exists()


@pytest.mark.pebble
def test_eab_issue_and_wrong_hmac(home: Home, pebble_eab: PebbleServer) -> None:
    common = ["--directory", pebble_eab.directory, "--ca-bundle", str(pebble_eab.ca_bundle)]
    wrong = "A" * 43
    home.run("provider", "add", "eab", *common, "--eab-kid", EAB_KID, "--eab-hmac-key", wrong, check=True)
    home.run("add", "e", "-d", "e.example.test", "--provider", "eab", "--http-port", str(pebble_eab.http_port),
             "--http-bind", "127.0.0.1", check=True)
    done = home.run("issue", "e")
    assert done.returncode == 1
    line = done.stderr.strip().splitlines()[-1]
    assert "eab" in line.lower() or "binding" in line.lower() or "unauthorized" in line.lower()
    assert wrong not in done.stderr
    home.run("provider", "add", "eab", "--eab-kid", EAB_KID, "--eab-hmac-key", EAB_HMAC, check=True)
    done = home.run("issue", "e")
    assert done.returncode == 0, done.stderr
    assert EAB_HMAC not in home.config.read_text()
    secrets = home.config.with_name("secrets.toml")
    assert EAB_HMAC in secrets.read_text() and (secrets.stat().st_mode & 0o777) == 0o600


@pytest.mark.pebble
def test_eab_required_but_missing_says_how_to_fix(home: Home, pebble_eab: PebbleServer) -> None:
    home.run("provider", "add", "eab", "--directory", pebble_eab.directory, "--ca-bundle",
             str(pebble_eab.ca_bundle), check=True)
    home.run("add", "e", "-d", "e.example.test", "--provider", "eab", "--http-port", str(pebble_eab.http_port),
             "--http-bind", "127.0.0.1", check=True)
    done = home.run("issue", "e")
    assert done.returncode == 1
    assert "--eab-kid" in done.stderr.strip().splitlines()[-1]


def test_sigterm_stops_an_issue_waiting_for_a_silent_ca(home: Home) -> None:
    """The CA accepts the connection and never answers; with request_timeout = 300 only the signal can end
    the command within the test's deadline."""
    import socket
    import subprocess
    import sys

    from zerossl_tui.service.service import CertificateService

    blackhole = socket.socket()
    blackhole.bind(("127.0.0.1", 0))
    blackhole.listen(8)
    blackhole.settimeout(60)
    port = blackhole.getsockname()[1]
    home.run("provider", "add", "hung", "--directory", f"https://localhost:{port}/dir", check=True)
    home.run("add", "h", "-d", "h.example.test", "--provider", "hung", check=True)
    CertificateService().update_table("renewal", {"request_timeout": 300})
    proc = subprocess.Popen([sys.executable, "-m", "zerossl_tui", "issue", "h"], env=home.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        conn, _ = blackhole.accept()  # the command now waits for the CA's answer
        with conn:
            assert proc.poll() is None
            os.kill(proc.pid, signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        assert proc.returncode != 0 and "Traceback" not in err
    finally:
        proc.kill()
        blackhole.close()


@pytest.mark.pebble
def test_provider_test_with_wrong_eab_saves_nothing(home: Home, pebble_eab: PebbleServer) -> None:
    done = home.run("provider", "add", "eab", "--directory", pebble_eab.directory, "--ca-bundle",
                    str(pebble_eab.ca_bundle), "--eab-kid", EAB_KID, "--eab-hmac-key", "B" * 43, "--test")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert not home.config.exists()
    done = home.run("provider", "add", "eab", "--directory", pebble_eab.directory, "--ca-bundle",
                    str(pebble_eab.ca_bundle), "--eab-kid", EAB_KID, "--eab-hmac-key", EAB_HMAC, "--test")
    assert done.returncode == 0, done.stderr
    assert "account registered" in done.stdout and home.config.exists()


@pytest.mark.pebble
def test_provider_moved_to_another_directory_registers_there(home: Home, tmp_path: Path) -> None:
    first = PebbleServer(tmp_path / "one").start()
    second = PebbleServer(tmp_path / "two").start()
    try:
        home.run("provider", "add", "p", "--directory", first.directory, "--ca-bundle", str(first.ca_bundle),
                 check=True)
        home.run("add", "m", "-d", "m.example.test", "--provider", "p", "--http-port", str(first.http_port),
                 "--http-bind", "127.0.0.1", check=True)
        home.run("issue", "m", check=True)
        home.run("provider", "add", "p", "--directory", second.directory, "--ca-bundle", str(second.ca_bundle),
                 check=True)
        home.run("edit", "m", "--http-port", str(second.http_port), check=True)
        done = home.run("issue", "m")
        assert done.returncode == 0, done.stderr
    finally:
        first.stop()
        second.stop()


@pytest.mark.parametrize("command", [["list", "--json"], ["list"], ["provider", "list", "--json"]])
def test_output_into_a_closed_pipe_is_not_an_error(home: Home, command: list[str]) -> None:
    """`zerossl-tui list --json | head -1`: the reader leaving early is no error and prints nothing."""
    home.config.parent.mkdir(parents=True, exist_ok=True)
    home.config.write_text('[providers.p]\ndirectory = "https://ca.example/dir"\n' + "".join(
        f'[certificates.c{n}]\ndomains = ["c{n}.example.com"]\nprovider = "p"\n' for n in range(300)))
    read, write = os.pipe()
    os.close(read)  # the reader is gone before anything is written
    try:
        done = subprocess.run([sys.executable, "-m", "zerossl_tui", *command], env=home.env(), stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, "")


def test_a_ca_bundle_without_a_certificate_is_refused(home: Home, tmp_path: Path) -> None:
    """`--ca-bundle` naming the wrong file (a key, /etc/passwd) is caught when it is given, not at the
    first order as an untrusted CA."""
    wrong = tmp_path / "not-a-ca.pem"
    wrong.write_text("root:x:0:0:root:/root:/bin/bash\n")
    done = home.run("provider", "add", "p", "--directory", "https://ca.example/dir", "--ca-bundle", str(wrong))
    assert done.returncode == 2 and "holds no PEM certificate" in one_line(done.stderr)
    assert not home.config.exists()


@pytest.mark.parametrize("command", [["issue", "a" * 100_000], ["revoke", "shop", "--reason", "a" * 100_000],
                                     ["add", "c", "-d", "c.example.com", "--key-type", "a" * 100_000]])
def test_an_error_quoting_a_huge_value_stays_a_readable_line(home: Home, command: list[str]) -> None:
    """The value is shown by its start, end and length; the line still says what is wrong and how to fix it."""
    done = home.run(*command)
    line = one_line(done.stderr)
    assert done.returncode == 2 and len(line) < 600 and "(100000 characters)" in line, line[:300]


@pytest.mark.parametrize("certfile", ["/tmp/" + "a" * 300 + "/cert.pem", "/tmp/" + "a/" * 2100 + "cert.pem"])
def test_a_certfile_path_longer_than_the_system_allows_is_refused(home: Home, certfile: str) -> None:
    """Saved, such a path fails at every deployment ('File name too long'); refused when it is given."""
    home.run("provider", "add", "p", "--directory", "https://ca.example/dir", check=True)
    done = home.run("add", "c", "-d", "c.example.com", "--provider", "p", "--certfile", certfile, "--keyfile",
                    "/tmp/key.pem")
    assert done.returncode == 2 and "longer than the system allows" in one_line(done.stderr)
    assert "[certificates.c]" not in home.config.read_text()


@pytest.mark.parametrize("email", ["[b]x[/b]@example.com", '"quoted"@example.com', "ops@[b]x[/b].example.com"])
def test_an_email_the_ca_would_refuse_is_refused_when_given(home: Home, email: str) -> None:
    """Saved, it failed every order later with the CA's invalidContact."""
    done = home.run("provider", "add", "p", "--directory", "https://ca.example/dir", "--email", email)
    assert done.returncode == 2 and "is not a valid address" in one_line(done.stderr)


def test_a_settings_path_that_cannot_be_read_is_a_configuration_error(home: Home, tmp_path: Path) -> None:
    """--config naming a file under a file: exit 2 (usage or configuration), one line naming the path."""
    plain_file = tmp_path / "plain"
    plain_file.write_text("x")
    done = home.run("--config", str(plain_file / "settings.toml"), "list")
    assert done.returncode == 2 and str(plain_file / "settings.toml") in one_line(done.stderr)
