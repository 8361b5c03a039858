"""Progress of bulk work on the command line: a bar on a terminal, plain lines otherwise, and Ctrl-C.

On a terminal (stdout is a tty, no ``--json``) a rich progress bar counts done / failed / left with an
estimate; each order's steps stay off the screen unless ``--verbose``. Elsewhere (cron, a pipe) the lines
are what they always were. The first Ctrl-C sets the cancel event the service checks between ACME steps:
orders in flight stop cleanly at their next step, queued ones are not started, and the caller reports what
was done; a second Ctrl-C abandons everything at once.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.text import Text

from ..core.models import EventKind, ProgressEvent
from ..core.text import printable

DONE_KINDS = frozenset({EventKind.ISSUED})
FAILED_KINDS = frozenset({EventKind.FAILED, EventKind.CANCELLED})
Emit = Callable[[ProgressEvent], None]


@dataclass
class Tally:
    """What became of each certificate so far: ``done`` or ``failed`` (the latest word wins)."""

    total: int
    ended: dict[str, str] = field(default_factory=dict)

    def note(self, event: ProgressEvent) -> bool:
        """Count ``event`` when it ends (or un-ends) an order; True when the counts changed."""
        word = "done" if event.kind in DONE_KINDS else "failed" if event.kind in FAILED_KINDS else ""
        if not word or self.ended.get(event.cert) == word:
            return False
        self.ended[event.cert] = word
        return True

    def count(self, word: str) -> int:
        """How many certificates ended as ``word``."""
        return sum(1 for value in self.ended.values() if value == word)

    def text(self) -> str:
        """``done 3 · failed 1 · left 6``."""
        done, failed = self.count("done"), self.count("failed")
        return f"done {done} · failed {failed} · left {max(0, self.total - done - failed)}"


class BulkProgress:
    """Receives every order's progress events (from worker threads) and shows them one way or another."""

    def __init__(self, total: int | None, *, bar: bool, steps: bool, what: str = "renewing") -> None:
        """``total`` None: not known yet (an import learns it as it goes); 0: nothing to do, no bar."""
        self.tally = Tally(total or 0)
        self.steps = steps
        self._lock = threading.Lock()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        if bar and total != 0:
            self._bar = _make_bar()
            self._task = self._bar.add_task(what, total=total, tally=self.tally.text())

    def __enter__(self) -> BulkProgress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, event: ProgressEvent) -> None:
        """One step of one order (called from the service's worker threads)."""
        with self._lock:
            changed = self.tally.note(event)
            if self.steps:
                self._line(_step_line(event))
            if changed and self._bar is not None and self._task is not None:
                ended = len(self.tally.ended)
                self._bar.update(self._task, completed=ended, tally=self.tally.text())

    def item(self, done: int, total: int, name: str, ok: bool) -> None:
        """One item of work that reports itself (an import) rather than through order events."""
        with self._lock:
            self.tally.total = total
            self.tally.ended[name] = "done" if ok else "failed"
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, total=total, completed=done, tally=self.tally.text())

    def note(self, line: str) -> None:
        """A line for the person watching, above the bar (or on stderr). Takes no lock: it is also called
        from the Ctrl-C handler, which may interrupt this very thread while it holds one."""
        self._line(printable(line))

    def _line(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(Text(line), highlight=False, soft_wrap=True)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()


def _make_bar() -> Progress:
    console = Console(file=sys.stdout, highlight=False)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[tally]}"), TextColumn("·"), TimeRemainingColumn(),
                    console=console, transient=False, refresh_per_second=8)


def _step_line(event: ProgressEvent) -> str:
    wait = f" (retry after {event.retry_after:.0f} s)" if event.retry_after else ""
    return printable(f"{event.cert}: {event.kind.value}: {event.message}{wait}")


def wants_bar(as_json: bool) -> bool:
    """A bar only for a person at a terminal: stdout is a tty and the output is not JSON."""
    return not as_json and sys.stdout.isatty()


@contextmanager
def interruptible(cancel: threading.Event, say: Callable[[str], None]) -> Iterator[threading.Event]:
    """While inside, the first Ctrl-C sets ``cancel`` (orders stop at their next step); the second one
    raises KeyboardInterrupt. The previous handler comes back afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield cancel
        return

    def on_sigint(_signum: int, _frame: FrameType | None) -> None:
        if cancel.is_set():
            raise KeyboardInterrupt
        cancel.set()
        say("stopping: the orders in flight end at their next step (Ctrl-C again to abandon them)")

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield cancel
    finally:
        signal.signal(signal.SIGINT, previous)
