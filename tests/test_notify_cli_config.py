"""Every `notify` action takes `--config FILE` after it, like every other command (`dns add --config`,
`provider add --config`), and `notify --help` says which events are sent and how to choose them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Home
from test_notify_apprise import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()


def test_notify_actions_take_config_after_the_action(home: Home, tmp_path: Path, receiver: Receiver) -> None:
    other = tmp_path / "other" / "settings.toml"
    added = home.run("notify", "add", "--config", str(other), receiver.url)
    assert added.returncode == 0, added.stderr
    assert "s3cret" in other.with_name("secrets.toml").read_text()
    assert not home.config.with_name("secrets.toml").exists(), "the default settings were not touched"
    listing = home.run("notify", "list", "--config", str(other), check=True)
    assert "1. json://127.0.0.1:" in listing.stdout
    sent = home.run("notify", "test", "--config", str(other))
    assert sent.returncode == 0, sent.stderr
    receiver.wait_for(1)
    assert receiver.titles() == ["zerossl-tui test"]
    home.run("notify", "remove", "--config", str(other), "1", check=True)
    assert "s3cret" not in other.with_name("secrets.toml").read_text()


def test_notify_help_names_the_events_and_where_to_choose_them(home: Home) -> None:
    text = " ".join(home.run("notify", "--help", check=True).stdout.split())
    for word in ("failure", "expiring", "verify-failed", "recovered", "notify set --events"):
        assert word in text, word
