"""The `manual` DNS provider at a terminal: print the exact records a person must create, then wait for
Enter, or until every resolver sees them. Without a person (``--non-interactive``, or stdin not a
terminal) the order fails at once, in one line, instead of waiting for nobody."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from ..core.errors import DnsError
from .output import printable


class TerminalManual:
    """A ``ManualHook`` for one order (or ``dns test``), talking to the person on stderr and stdin."""

    def __init__(self, name: str, interactive: bool) -> None:
        self.name = name
        self.interactive = interactive
        self.continue_event = threading.Event()
        self._shown = False

    def show(self, records: Sequence[Any]) -> None:
        """Print every record to create; a thread waits for Enter. DnsError when nobody can create them."""
        if not self.interactive:
            raise DnsError(f"{self.name}: the manual DNS provider needs a person to create {len(records)} TXT "
                           "record(s): run it at a terminal without --non-interactive, or use an rfc2136, "
                           "lexicon or exec DNS provider")
        self._shown = True
        _say(f"{self.name}: create these DNS records, then press Enter (the order also goes on by itself as "
             "soon as every resolver sees them):")
        for record in records:
            _say(f"  {printable(record.fqdn)}.  TXT  \"{printable(record.value)}\"")
        threading.Thread(target=self._wait_for_enter, name="manual-dns-enter", daemon=True).start()

    def _wait_for_enter(self) -> None:
        try:
            sys.stdin.readline()
        except (OSError, ValueError):
            return
        self.continue_event.set()

    def visible(self, fqdn: str, server: str) -> None:
        """A resolver now sees the records at ``fqdn``."""
        _say(f"  {printable(fqdn)}: seen by {server}")

    def removable(self, records: Sequence[Any]) -> None:
        """The records may be deleted now (only said when they were shown)."""
        if self._shown:
            for record in records:
                _say(f"{self.name}: you may delete TXT {printable(record.fqdn)} \"{printable(record.value)}\" now")


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def manual_factory(non_interactive: bool) -> Callable[[str], TerminalManual]:
    """What the service asks for a `manual` DNS provider: a TerminalManual per order; interactive only when
    allowed and stdin is a terminal."""
    interactive = not non_interactive and sys.stdin is not None and sys.stdin.isatty()
    return lambda name: TerminalManual(name, interactive)
