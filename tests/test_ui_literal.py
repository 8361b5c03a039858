"""Text from outside is shown literally everywhere in the dashboard: markup-like and control-character
strings (typed by a user, sent by a CA, read from a file or a hook) never crash it and are never read as
markup. A property test feeds random such strings through every place that shows outside text."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Home
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from textual.pilot import Pilot
from textual.widgets import Input, Label, Static
from uiwait import loaded

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.errors import OperationError
from zerossl_tui.core.models import EventKind, ProgressEvent, RenewalState
from zerossl_tui.core.text import printable
from zerossl_tui.devtools.demo import show_running
from zerossl_tui.service.service import CertificateService
from zerossl_tui.ui.app import Dashboard, make_app
from zerossl_tui.ui.messages import Answer
from zerossl_tui.ui.screens.cert_form import CertificateForm
from zerossl_tui.ui.screens.confirm import ConfirmScreen
from zerossl_tui.ui.screens.eab import EabScreen
from zerossl_tui.ui.screens.settings import SettingsScreen

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SIZE = (140, 40)
PIECES = ["[", "]", "[/]", "[/", "x[/", "[b]", "[/b]", "[@click=app.quit]", "[link=https://x]", "\\[",
          "[red]", "$text", "\x1b[31m", "\x1b]0;owned\x07", "\u202e", "\r", "\n", "\t", "\x9b", "\x7f", "\x00"]
MARKUP_ONLY = [p for p in PIECES if p.isprintable()]


def outside(pieces: list[str]) -> st.SearchStrategy[str]:
    """Strings made of markup-like pieces, control characters and random text."""
    return st.lists(st.one_of(st.sampled_from(pieces), st.text(max_size=3)), min_size=1, max_size=8).map("".join)


def storable(text: str) -> str:
    """What a settings file can hold (no NUL), never empty."""
    return "x" + text.replace("\x00", "")


def plant(root: Path, texts: list[str]) -> CertificateService:
    """A service whose settings, journal and state hold ``texts`` where a user, a CA or a hook puts them."""
    config = root / "settings.toml"
    config.write_text('[general]\ndata_dir = "data"\n')
    service = CertificateService(str(config), clock=FixedClock(NOW))
    directory = "https://ca.example/" + "".join(t for t in texts if t.isprintable()).replace(" ", "")[:60]
    service.set_provider("evil", directory=directory or "https://ca.example/dir")
    service.add_certificate("shop", ["shop.example.com"], "evil", webroot="/srv/" + storable(texts[0]),
                            certfile="/etc/" + storable(texts[1]), keyfile="/etc/key.pem")
    journal, hook, detail, kind = service.journal, storable(texts[2]), storable(texts[3]), storable(texts[4])
    order = journal.start_order("shop", NOW - timedelta(hours=1))
    journal.add_event(order, "hook", hook, NOW - timedelta(hours=1))
    journal.add_event(order, "failed", detail, NOW - timedelta(minutes=59))
    journal.finish_order(order, "failed", NOW - timedelta(minutes=59), error_type=kind, error_detail=detail)
    journal.put_state("shop", RenewalState(failures=1, next_attempt=NOW + timedelta(hours=1), last_error=hook))
    return service


def run(service: CertificateService, scenario: object) -> None:
    app = make_app(service, autorenew=False)

    async def main() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            await scenario(app, pilot)  # type: ignore[operator]

    asyncio.run(main())


def plain(widget: Label | Static) -> str:
    """The text a label or static shows (its content, styles removed)."""
    content = widget.content
    return str(getattr(content, "plain", content))


def shown(app: Dashboard) -> None:
    """Render every widget on screen (a markup error would raise here)."""
    assert app.export_screenshot()


def no_controls(text: str) -> bool:
    return not any(ord(ch) < 32 and ch != "\n" or 0x7f <= ord(ch) <= 0x9f or ch == "\u202e" for ch in text)


TEXTS = st.lists(outside(PIECES), min_size=6, max_size=6)
# Each example runs the whole dashboard: a few examples of six strings each, and no shrinking (which would
# take minutes); a failure still prints the strings that broke it.
SLOW = settings(max_examples=5, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                suppress_health_check=[HealthCheck.function_scoped_fixture])


@SLOW
@given(texts=TEXTS)
def test_table_log_and_notifications_show_outside_text_literally(home: Home, texts: list[str]) -> None:
    service = plant(Path(tempfile.mkdtemp(dir=home.root)), texts)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        app.table.select("shop")
        app.load_orders("shop")
        await app.workers.wait_for_complete()
        await pilot.pause()
        log = plain(app.main.order_log.query_one("#log-text", Static))
        for text in (texts[3], texts[4], texts[2]):
            assert printable(storable(text)) in log
        assert printable(app.service.certificate("shop").webroot) in log  # as loaded (paths are normalised)
        assert no_controls(log)
        assert all(no_controls(app.table.get_cell("shop", column)) for column in ("name", "provider", "result"))
        show_running(app.board, "shop", NOW)  # a running order whose hook prints outside text
        app.progress(ProgressEvent("shop", EventKind.HOOK, texts[5], NOW))
        await pilot.pause()
        app.draw_log()
        live = plain(app.main.order_log.query_one("#log-text", Static))
        assert printable(texts[5]) in live and no_controls(live)
        app.report(OperationError(texts[5]), "shop")
        app.notify(texts[4], title=texts[1])
        await pilot.pause()
        shown(app)
        messages = [n.message for n in app._notifications]
        assert f"shop: {printable(texts[5], keep_lines=True)}" in messages
        assert printable(texts[4], keep_lines=True) in messages
        assert all(not n.markup and no_controls(n.message) for n in app._notifications)

    run(service, scenario)


@SLOW
@given(texts=TEXTS)
def test_forms_and_dialogs_show_outside_text_literally(home: Home, texts: list[str]) -> None:
    service = plant(Path(tempfile.mkdtemp(dir=home.root)), texts)

    async def scenario(app: Dashboard, pilot: Pilot[int]) -> None:
        await pilot.press("a")
        form = app.screen
        assert isinstance(form, CertificateForm)
        for field, text in (("name", texts[0]), ("domains", texts[1])):
            form.query_one(f"#{field}", Input).value = text
            await pilot.pause()
            form.touched.touch_all()
            form.validate()
            shown(app)
            first = next(iter(form.problems().values()), "Ready to save.")
            assert plain(form.query_one("#error", Label)) == printable(first, keep_lines=True)
        await pilot.press("escape")
        app.push_screen(ConfirmScreen(texts[2], texts[3]))
        await pilot.pause()
        labels = [plain(label) for label in app.screen.query(Label)]
        assert labels[:2] == [printable(texts[2], keep_lines=True), printable(texts[3], keep_lines=True)]
        shown(app)
        app.pop_screen()
        app.push_screen(EabScreen(service, "evil"))
        await pilot.pause()
        eab = app.screen
        eab.post_message(Answer("test evil", None, OperationError(texts[4])))
        await pilot.pause()
        assert printable(texts[4], keep_lines=True) in plain(eab.query_one("#result", Label))
        shown(app)
        app.pop_screen()
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SettingsScreen)
        shown(app)

    run(service, scenario)
