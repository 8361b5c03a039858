"""The dashboard's half-minute look while this process's scheduler writes ARI answers (issue 14, idle at
10,000): the rows whose renewal state the process wrote show their new renewal moment, without every other
row being read again; a write by another process still means every row is read again."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import Home
from uiwait import loaded, until

from zerossl_tui.core.clock import FixedClock
from zerossl_tui.core.models import RenewalState
from zerossl_tui.devtools.demo import DEMO_NOW, seed_demo
from zerossl_tui.service.service import CertificateService
from zerossl_tui.storage.journal import Journal
from zerossl_tui.ui.app import make_app
from zerossl_tui.ui.timeline_model import Timeline, build

SIZE = (140, 40)


@pytest.fixture
def demo(home: Home) -> CertificateService:
    service = CertificateService(clock=FixedClock(DEMO_NOW))
    seed_demo(service)
    return service


def ari_answer(at: datetime) -> RenewalState:
    """A renewal state as the ARI pass stores it: the CA's window, the moment chosen in it, the next ask."""
    return RenewalState(ari_window_start=at, ari_window_end=at + timedelta(hours=2), ari_chosen=at,
                        ari_retry_at=DEMO_NOW + timedelta(hours=6))


def buckets(timeline: Timeline) -> list[tuple[set[str], set[str], set[str]]]:
    return [(set(b.expiring), set(b.renewing), set(b.troubled)) for b in timeline.buckets]


def test_the_journal_tells_which_states_this_connection_wrote(tmp_path: Path) -> None:
    """Own state writes are named; another connection's are not (its data_version moves instead); an own
    write of anything else (an order) is reported as such: the reader then reads everything."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Journal(tmp_path / "j.sqlite3") as ours, Journal(tmp_path / "j.sqlite3") as theirs:
        mark = ours.own_changes(0)[0]  # (opening it wrote its schema: not a state)
        assert ours.own_changes(mark) == (mark, frozenset())
        ours.put_states({"a": ari_answer(now), "b": ari_answer(now)})
        mark, names = ours.own_changes(mark)
        assert names == {"a", "b"}
        ours.put_state("c", ari_answer(now))
        assert ours.own_changes(mark)[1] == {"c"}
        mark, version = ours.own_changes(mark)[0], ours.data_version()
        theirs.put_state("d", ari_answer(now))
        assert ours.own_changes(mark) == (mark, frozenset())
        assert ours.data_version() != version
        ours.start_order("a", now)
        assert ours.own_changes(mark)[1] is None


def test_the_look_reads_again_only_the_rows_whose_state_this_process_wrote(demo: CertificateService) -> None:
    chosen = DEMO_NOW + timedelta(days=3)

    async def scenario() -> None:
        app = make_app(demo, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            app.look_again()  # the first look reads everything: the theme was saved at start (new settings)
            await app.workers.wait_for_complete()
            await pilot.pause()
            before = dict(app.table.views)
            assert before["shop"].next_renewal != chosen
            renewal = app.table.get_cell("shop", "renewal")
            demo.journal.put_states({"shop": ari_answer(chosen)})  # as the in-process ARI pass commits
            app.look_again()  # what the 30-second timer calls
            await until(pilot, lambda: app.table.views["shop"].next_renewal == chosen, "shop's ARI moment")
            assert app.table.get_cell("shop", "renewal") != renewal
            strip = app.main.timeline.model  # moved shop's renewal to its new day, as a rebuild would place it
            assert strip is not None
            assert buckets(strip) == buckets(build(app.table.views.values(), DEMO_NOW, strip.days))
            assert any("shop" in b.renewing for b in strip.buckets if b.start <= chosen < b.end)
            others = [name for name in before if name != "shop"]
            assert others and all(app.table.views[name] is before[name] for name in others)  # not read again

            with Journal(demo.paths.journal_path) as other:  # another process (a daemon) writes a state
                other.put_state("blog", ari_answer(chosen))
            app.look_again()
            await until(pilot, lambda: app.table.views["blog"].next_renewal == chosen, "blog's ARI moment")
            assert app.table.views["api"] is not before["api"]  # another process's write: every row read

    asyncio.run(scenario())


def test_a_row_read_again_moves_to_its_place_in_the_order(demo: CertificateService) -> None:
    """Sorted by next renewal, a certificate whose ARI answer brings its renewal forward moves up."""

    async def scenario() -> None:
        app = make_app(demo, autorenew=False)
        async with app.run_test(size=SIZE) as pilot:
            await loaded(pilot)
            app.look_again()  # the first look reads everything (see above)
            await app.workers.wait_for_complete()
            await pilot.pause()
            app.table.sort_by("renewal")
            assert app.table.names.index("cdn") > app.table.names.index("shop")
            demo.journal.put_states({"cdn": ari_answer(DEMO_NOW + timedelta(days=3))})
            app.look_again()
            await until(pilot, lambda: app.table.names.index("cdn") < app.table.names.index("shop"), "cdn moved")
            assert app.table.names == sorted(app.table.names, key=lambda n: app.table.views[n].next_renewal
                                             or DEMO_NOW + timedelta(days=9999))

    asyncio.run(scenario())
