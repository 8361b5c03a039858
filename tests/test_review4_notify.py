"""Fourth new-user review, `notify add`: a URL with an escape sequence in it was saved to secrets.toml.
Through the real CLI; apprise checks the URL, nothing is sent."""

from __future__ import annotations

from conftest import Home


def test_a_notification_url_with_an_escape_sequence_is_refused_without_echoing_it(home: Home) -> None:
    done = home.run("notify", "add", "json://127.0.0.1:9/hook\x1b]0;s3cr3t-path\x07")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert "control character" in done.stderr and "s3cr3t" not in done.stderr and "\x1b" not in done.stderr
    assert home.run("notify", "list", check=True).stdout.startswith("no notification URLs")
    secrets = home.config.parent / "secrets.toml"
    assert not secrets.exists() or "s3cr3t" not in secrets.read_text()


def test_a_plain_notification_url_is_still_added_and_shown_masked(home: Home) -> None:
    done = home.run("notify", "add", "json://user:pw-hidden@127.0.0.1:9/hook", check=True)
    assert "json://127.0.0.1:9/***" in done.stdout and "pw-hidden" not in done.stdout
