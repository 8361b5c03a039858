"""A DNS provider as configured (``[dns.NAME]`` plus its secrets), and the factories the service uses.

``DnsSpec`` (core.models) is the settings table; ``make_solver(spec)`` gives the ``Dns01Solver`` to hand to
``AcmeSession.issue`` (and ``make_provider(spec)`` the bare provider, for crash cleanup from the journal).
"""

from __future__ import annotations

from ...core.errors import UsageError
from ...core.models import DNS_TYPES, DnsSpec
from .exec_provider import ExecProvider
from .lexicon_provider import LexiconProvider
from .lookup import Lookup, ZoneFinder
from .providers import DnsProvider, ManualHook, ManualProvider
from .rfc2136 import Rfc2136Provider
from .solver import Dns01Solver, RecordHook

__all__ = ["DNS_TYPES", "DnsSpec", "make_provider", "make_solver"]


def make_provider(spec: DnsSpec, *, manual_hook: ManualHook | None = None) -> DnsProvider:
    """The provider ``spec`` describes; UsageError for a bad type or missing setting (nothing contacted,
    except lexicon's list of providers, read locally)."""
    who = f"DNS provider {spec.name!r} ({spec.type})"
    # Without resolvers, questions go to an rfc2136 primary first (it knows its zones), then the system's.
    own = spec.resolvers or ((spec.server,) if spec.type == "rfc2136" and spec.server else ())
    zones = ZoneFinder(Lookup(own, who=who, system_too=not spec.resolvers), spec.zone)
    if spec.type == "rfc2136":
        return Rfc2136Provider(spec.name, zones, server=spec.server, key_name=spec.tsig_key_name,
                               secret=spec.tsig_secret, algorithm=spec.tsig_algorithm, ttl=spec.ttl)
    if spec.type == "lexicon":
        return LexiconProvider(spec.name, zones, provider=spec.lexicon_provider, options=dict(spec.options),
                               ttl=spec.ttl)
    if spec.type == "exec":
        return ExecProvider(spec.name, zones, command=spec.command, timeout=spec.timeout)
    if spec.type == "manual":
        if manual_hook is None:
            raise UsageError(f"{who}: a manual DNS provider needs someone at the keyboard")
        return ManualProvider(spec.name, zones, manual_hook)
    raise UsageError(f"DNS provider {spec.name!r}: unknown type {spec.type!r}: use one of {', '.join(DNS_TYPES)}")


def make_solver(spec: DnsSpec, *, manual_hook: ManualHook | None = None, on_record_added: RecordHook | None = None,
                on_record_removed: RecordHook | None = None, authoritative_port: int = 53) -> Dns01Solver:
    """The dns-01 solver for one order through the provider ``spec`` describes."""
    return Dns01Solver(make_provider(spec, manual_hook=manual_hook), resolvers=spec.resolvers,
                       propagation_timeout=spec.propagation_timeout, authoritative_port=authoritative_port,
                       on_record_added=on_record_added, on_record_removed=on_record_removed)
