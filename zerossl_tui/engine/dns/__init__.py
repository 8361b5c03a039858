"""dns-01: DNS providers (rfc2136, lexicon, exec, manual), zone and delegation lookup, the propagation
check, and the solver the order flow uses."""

from .config import DNS_TYPES, DnsSpec, make_provider, make_solver
from .lexicon_provider import check_lexicon_provider, lexicon_provider_names
from .lookup import Lookup, ZoneFinder, authoritative_servers, find_zone, follow_cname
from .propagation import VisibilityCheck, wait_visible
from .providers import DnsProvider, DnsRefused, ManualHook, ManualProvider, TxtRecord
from .solver import Dns01Solver, RecordHook, publish_pending

__all__ = [
    "DNS_TYPES", "Dns01Solver", "DnsProvider", "DnsRefused", "DnsSpec", "Lookup", "ManualHook", "ManualProvider",
    "RecordHook", "TxtRecord", "VisibilityCheck", "ZoneFinder", "authoritative_servers", "check_lexicon_provider",
    "find_zone", "follow_cname", "lexicon_provider_names", "make_provider", "make_solver", "publish_pending",
    "wait_visible",
]
