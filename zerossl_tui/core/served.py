"""What an endpoint really serves, compared with the current certificate (``verify``)."""

from __future__ import annotations

from dataclasses import dataclass

OK, STALE, UNREACHABLE = "ok", "stale", "unreachable"


@dataclass(frozen=True)
class EndpointCheck:
    """One ``verify`` endpoint of one certificate: ``ok`` (serves the current certificate), ``stale`` (serves
    another one, ``served_serial``) or ``unreachable`` (``error`` says why)."""

    name: str
    endpoint: str
    state: str
    served_serial: str = ""
    expected_serial: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when the endpoint serves the current certificate."""
        return self.state == OK
