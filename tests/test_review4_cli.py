"""Fourth new-user review, combinations of command-line options: through the real CLI, nothing contacted."""

from __future__ import annotations

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
