"""`--help` says what a person needs before running a command: that one cannot be undone, and, after a mistyped
option, which command's help lists the right ones."""

from __future__ import annotations

from conftest import Home


def test_account_deactivate_help_says_it_is_permanent_and_what_follows(home: Home) -> None:
    text = " ".join(home.run("account", "deactivate", "--help", check=True).stdout.split())
    assert "permanent" in text and "not asked again" in text
    assert "certificates already issued stay valid" in text and "next order registers a new account" in text
    rollover = " ".join(home.run("account", "rollover", "--help", check=True).stdout.split())
    assert "only once the CA accepted it" in rollover


def test_an_unknown_option_of_a_subcommand_points_at_that_subcommands_help(home: Home) -> None:
    from helpers import one_line

    for argv, wanted in ((["notify", "list", "--bogus"], "zerossl-tui notify list --help"),
                         (["dns", "add", "x", "--bogus"], "zerossl-tui dns add --help"),
                         (["verify", "--bogus"], "zerossl-tui verify --help")):
        done = home.run(*argv)
        line = one_line(done.stderr)
        assert done.returncode == 2 and f"see `{wanted}`" in line, line
    secret = home.run("provider", "add", "zerossl", "--eab-kid", "k", "--eab-hmac-keyy", "SECRETSECRET")
    assert "SECRETSECRET" not in secret.stderr and "provider add --help" in secret.stderr
