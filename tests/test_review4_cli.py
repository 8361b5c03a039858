"""Fourth new-user review, combinations of command-line options: through the real CLI, nothing contacted."""

from __future__ import annotations

import socket

from conftest import Home


def test_edit_with_both_verify_and_no_verify_is_a_usage_error_that_changes_nothing(home: Home) -> None:
    """`edit web --verify 127.0.0.1:8443 --no-verify` used to drop the endpoint silently (and the other order
    kept it): whichever came last won."""
    home.run("add", "web", "-d", "web.example.com", "--verify", "127.0.0.1:443", check=True)
    before = home.config.read_text()
    for order in (("--verify", "127.0.0.1:8443", "--no-verify"), ("--no-verify", "--verify", "127.0.0.1:8443")):
        done = home.run("edit", "web", *order)
        assert done.returncode == 2, done.stderr
        assert "not allowed with" in done.stderr and done.stderr.count("\n") == 1
        assert home.config.read_text() == before
    assert home.run("edit", "web", "--no-verify").returncode == 0
    assert "127.0.0.1:443" not in home.config.read_text()


def test_daemon_metrics_on_a_port_in_use_says_how_to_fix_it_in_one_line(home: Home) -> None:
    """`daemon --metrics` on a busy port said only 'Address already in use', with no way forward."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = home.run("daemon", "--metrics", f"127.0.0.1:{port}", timeout=60)
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"cannot serve metrics on 127.0.0.1:{port}" in lines[0] and "another --metrics HOST:PORT" in lines[0]
