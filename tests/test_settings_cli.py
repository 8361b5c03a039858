"""`settings show|set` and `notify set`: every [general], [renewal], [ui] and [notify] value can be read and
changed without an editor (a headless server) and from the dashboard, checked by the same rules."""

from __future__ import annotations

import json
import stat
import tomllib

import pytest
from conftest import Home
from test_notify_apprise import Receiver, receiver  # noqa: F401 - the fixture is used by name
from test_ui_keys import error_text
from textual.pilot import Pilot
from textual.widgets import Input
from uiwait import run_dashboard, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.schema import TABLES
from zerossl_tui.core.validate import SETTABLE
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard
from zerossl_tui.ui.screens.settings import SettingsScreen

KEYS = [f"{table}.{field.key}" for table in SETTABLE for field in TABLES[table]]
# Where the dashboard does not offer a key, and why. The data folder is where the running dashboard's own
# journal and certificates live: it cannot move them under itself; `settings set` can, with nothing open.
NOT_ON_DASHBOARD = {"general.data_dir"}


def saved(home: Home) -> dict[str, dict[str, object]]:
    return tomllib.loads(home.config.read_text()) if home.config.exists() else {}


def test_help_names_every_key_with_its_meaning_and_examples(home: Home) -> None:
    text = home.run("settings", "set", "--help", check=True).stdout
    for table in SETTABLE:
        for field in TABLES[table]:
            assert f"{table}.{field.key}: {' '.join(field.doc.split()[:4])}" in " ".join(text.split()), field.key
    assert "zerossl-tui settings set renewal.concurrency 8" in text and "storage use" in text


def test_show_lists_every_value_and_set_changes_one(home: Home) -> None:
    shown = home.run("settings", "show", check=True).stdout.splitlines()
    assert [line.split(" = ")[0] for line in shown] == KEYS
    assert "renewal.concurrency = 16" in shown and "ui.autorenew = true" in shown
    done = home.run("settings", "set", "renewal.concurrency", "8", check=True)
    assert done.stdout == "renewal.concurrency = 8\n"
    home.run("settings", "set", "ui.autorenew", "no", check=True)
    home.run("settings", "set", "renewal.deploy_hook", "systemctl reload nginx", check=True)
    assert saved(home)["renewal"] == {"concurrency": 8, "deploy_hook": "systemctl reload nginx"}
    as_json = json.loads(home.run("settings", "show", "--json", check=True).stdout)
    assert as_json["renewal"]["concurrency"] == 8 and as_json["ui"]["autorenew"] is False
    assert as_json["notify"]["events"] == ["failure", "expiring", "verify-failed", "recovered"]
    assert stat.S_IMODE(home.config.stat().st_mode) & 0o077 in (0, 0o044, 0o004, 0o040)


@pytest.mark.parametrize(("key", "value", "said"), [
    ("renewal.concurrency", "0", "renewal.concurrency: 0 is out of range: give 1 to 256"),
    ("renewal.concurrency", "many", "renewal.concurrency: must be a whole number, not 'many'"),
    ("renewal.concurrency", "9" * 5000, "renewal.concurrency: "),
    ("ui.autorenew", "maybe", "ui.autorenew: must be true or false, not 'maybe'"),
    ("renewal.deploy_hook", "\x1b[2Jreload", "renewal.deploy_hook: contains a control character"),
    ("notify.events", "failure,expired", "notify.events: unknown event 'expired'"),
    ("storage.password", "hunter2", "`zerossl-tui storage use`"),
    ("storage.backend", "postgresql", "`zerossl-tui storage use`"),
    ("renewal.nope", "1", "unknown setting 'renewal.nope' (known: general.data_dir,"),
    ("ui.theme", "no-such-theme", "ui.theme: no theme 'no-such-theme' (known: "),
])
def test_a_wrong_value_is_one_line_and_changes_nothing(home: Home, key: str, value: str, said: str) -> None:
    home.run("settings", "set", "renewal.concurrency", "5", check=True)
    before = home.config.read_bytes()
    done = home.run("settings", "set", key, value)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and said in lines[0] and "\x1b" not in lines[0] and len(lines[0]) < 700, lines
    assert "hunter2" not in done.stderr
    assert home.config.read_bytes() == before


def test_a_relative_data_dir_is_taken_from_where_the_command_runs(home: Home) -> None:
    home.run("settings", "set", "general.data_dir", "~/certs", check=True)
    assert saved(home)["general"]["data_dir"] == str(home.root / "certs")


def test_notify_set_chooses_the_events_that_are_sent(home: Home, receiver: Receiver) -> None:  # noqa: F811
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    home.run("notify", "add", receiver.url, check=True)
    done = home.run("notify", "set", "--events", "failure", "--expiring-days", "30", check=True)
    assert done.stdout == "notify.events = failure\nnotify.expiring_days = 30\n"
    service.reload()
    sent = service.notify_check()
    assert sent and all(title.endswith(("renewal failed", "first issuance failed")) for title in sent), sent
    bad = home.run("notify", "set", "--expiring-days", "0")
    assert bad.returncode == 2 and bad.stderr.splitlines() == [
        "zerossl-tui: error: notify.expiring_days: 0 is out of range: give 1 to 3650"]
    assert home.run("notify", "set").returncode == 2
    assert saved(home)["notify"] == {"events": ["failure"], "expiring_days": 30}
    assert "notify set --events" in home.run("notify", "--help", check=True).stdout


def test_every_settable_key_is_on_the_dashboard_and_saves_like_the_cli(home: Home) -> None:
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, SettingsScreen), "the settings screen")
        screen = app.screen
        ids = {node.id for node in screen.query("*") if node.id}
        missing = [k for k in KEYS if k.split(".")[1] not in ids and k not in NOT_ON_DASHBOARD]
        assert not missing, f"the settings screen lacks {missing}"
        screen.query_one("#events", Input).value = "failure, bogus"
        await pilot.pause()
        assert error_text(screen).startswith("notify.events: unknown event 'bogus'")
        screen.query_one("#events", Input).value = "failure, recovered"
        screen.query_one("#expiring_days", Input).value = "21"
        screen.query_one("#deploy_hook", Input).value = "reload \x1b[31m"
        await pilot.pause()
        assert "renewal.deploy_hook: contains a control character" in error_text(screen)
        screen.query_one("#deploy_hook", Input).value = "true"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, SettingsScreen), "the settings to save")
        await app.workers.wait_for_complete()

    run_dashboard(service, scenario, (100, 40))
    assert saved(home)["notify"] == {"events": ["failure", "recovered"], "expiring_days": 21}
    shown = home.run("settings", "show", check=True).stdout
    assert "notify.events = failure,recovered\n" in shown and "renewal.deploy_hook = true\n" in shown


def test_an_unknown_home_is_refused_and_a_repeated_event_kept_once(home: Home) -> None:
    done = home.run("settings", "set", "general.data_dir", "~no-such-user-zt/certs")
    assert done.returncode == 2 and "no user 'no-such-user-zt'" in done.stderr
    home.run("notify", "set", "--events", "failure,failure,expiring", check=True)
    assert saved(home)["notify"] == {"events": ["failure", "expiring"]}
