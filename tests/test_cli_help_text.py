"""`--help` of a command that cannot be undone says so, and what happens next, before anyone runs it."""

from __future__ import annotations

from conftest import Home


def test_account_deactivate_help_says_it_is_permanent_and_what_follows(home: Home) -> None:
    text = " ".join(home.run("account", "deactivate", "--help", check=True).stdout.split())
    assert "permanent" in text and "not asked again" in text
    assert "certificates already issued stay valid" in text and "next order registers a new account" in text
    rollover = " ".join(home.run("account", "rollover", "--help", check=True).stdout.split())
    assert "only once the CA accepted it" in rollover
