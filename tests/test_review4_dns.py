"""Fourth new-user review, `dns add`: a zone that is no DNS name and option values with escape sequences
were saved into settings.toml (and shown again by `dns list`). Through the real CLI; nothing is contacted."""

from __future__ import annotations

from conftest import Home


def refused(done: object, words: str) -> str:
    stderr = str(done.stderr)  # type: ignore[attr-defined]
    assert done.returncode == 2, stderr  # type: ignore[attr-defined]
    assert stderr.count("\n") == 1 and "Traceback" not in stderr and words in stderr, stderr
    return stderr


def test_a_zone_with_markup_is_refused_and_not_saved(home: Home) -> None:
    done = home.run("dns", "add", "ns1", "--type", "rfc2136", "--server", "127.0.0.1:5353", "--tsig-key-name",
                    "k", "--tsig-secret", "c2VjcmV0", "--zone", "[red]x[/]")
    refused(done, "zone '[red]x[/]' is not a DNS name")
    assert not home.config.exists() or "ns1" not in home.config.read_text()


def test_an_escape_sequence_in_a_zone_is_refused_and_shown_escaped(home: Home) -> None:
    done = home.run("dns", "add", "ns1", "--type", "manual", "--zone", "ex\x1b[2Jample.com")
    line = refused(done, "is not a DNS name")
    assert "\x1b" not in line


def test_an_escape_sequence_in_a_lexicon_option_is_refused_without_echoing_it(home: Home) -> None:
    done = home.run("dns", "add", "cf", "--type", "lexicon", "--lexicon-provider", "cloudflare", "--option",
                    "auth_token=tok3n-v4lue", "--option", "auth_username=ops\x1b]0;owned\x07")
    line = refused(done, "option auth_username contains a control character")
    assert "owned" not in line and "tok3n" not in line
    assert not home.config.exists() or "cf" not in home.config.read_text()


def test_plain_zones_and_options_are_still_saved(home: Home) -> None:
    done = home.run("dns", "add", "cf", "--type", "lexicon", "--lexicon-provider", "cloudflare", "--option",
                    "ttl_hint=300", "--zone", "bücher.example.com.")
    assert done.returncode == 0, done.stderr
    listed = home.run("dns", "list", check=True).stdout
    assert "zone=xn--bcher-kva.example.com" in listed and "ttl_hint=300" in listed
