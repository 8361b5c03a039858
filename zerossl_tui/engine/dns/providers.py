"""The DNS provider interface (present / cleanup one TXT value at one name) and the ``manual`` provider.

A provider adds or removes exactly one TXT value, never the whole record set: a wildcard and its apex put
two values on one name, and other orders or people may have values there too.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ...core.errors import DnsError
from .lookup import ZoneFinder


@dataclass(frozen=True)
class TxtRecord:
    """One TXT value the solver puts up: ``fqdn`` is where it goes (after CNAMEs), ``domain`` the name it
    proves (``example.com`` also for ``*.example.com``), ``zone`` the zone holding ``fqdn``."""

    domain: str
    fqdn: str
    value: str
    zone: str


class DnsRefused(DnsError):
    """The provider answered and refused: nothing was changed, so there is nothing to clean up."""


class DnsProvider:
    """Base of every DNS provider: subclasses implement ``present`` and ``cleanup``.

    ``name`` is the settings name (``[dns.NAME]``); ``zones`` finds the zone of a record name (the
    configured zone wins). ``continue_event`` is set by a person who says the records are in place;
    ``cancel`` is the running order's cancel event (the solver hands it over) for providers that wait.
    """

    kind = "dns"
    journaled = True  # False when a person, not this program, adds and removes the records

    def __init__(self, name: str, zones: ZoneFinder) -> None:
        self.name = name
        self.zones = zones
        self.continue_event: threading.Event | None = None
        self.cancel = threading.Event()

    @property
    def who(self) -> str:
        """How messages name this provider: ``DNS provider 'bind' (rfc2136)``."""
        return f"DNS provider {self.name!r} ({self.kind})"

    def present(self, fqdn: str, value: str) -> None:
        """Add the TXT ``value`` at ``fqdn`` (keeping any other value there)."""
        raise NotImplementedError

    def cleanup(self, fqdn: str, value: str) -> None:
        """Remove the TXT ``value`` at ``fqdn`` (and nothing else); no error when it is already gone."""
        raise NotImplementedError

    def presented(self, records: Sequence[TxtRecord]) -> None:
        """Called once every record of an order is presented, before waiting for them to be visible."""

    def visible(self, fqdn: str, server: str) -> None:
        """Called when ``server`` (``ip:port``) answers every value this order put at ``fqdn``."""


class ManualHook(Protocol):
    """What the CLI or dashboard gives the ``manual`` provider: a person creates the records."""

    continue_event: threading.Event  # set when the person says the records are in place

    def show(self, records: Sequence[TxtRecord]) -> None:
        """Tell the person which records to create (raise DnsError when nobody can, e.g. non-interactive)."""

    def removable(self, records: Sequence[TxtRecord]) -> None:
        """Tell the person that these records may be deleted now."""

    def visible(self, fqdn: str, server: str) -> None:
        """``server`` (``ip:port``) now answers every value at ``fqdn`` (for a live view)."""


class ManualProvider(DnsProvider):
    """A person creates and deletes the records; the solver waits until the resolvers see them (or until
    the person says to continue)."""

    kind = "manual"
    journaled = False

    def __init__(self, name: str, zones: ZoneFinder, hook: ManualHook) -> None:
        super().__init__(name, zones)
        self.hook = hook
        self.continue_event = hook.continue_event

    def present(self, fqdn: str, value: str) -> None:
        """Nothing to do here: ``presented`` shows all records at once."""

    def presented(self, records: Sequence[TxtRecord]) -> None:
        """Show the person every record to create."""
        self.hook.show(records)

    def visible(self, fqdn: str, server: str) -> None:
        """Pass it on to the person's view."""
        self.hook.visible(fqdn, server)

    def cleanup(self, fqdn: str, value: str) -> None:
        """Tell the person the record may go."""
        self.hook.removable([TxtRecord("", fqdn, value, "")])
