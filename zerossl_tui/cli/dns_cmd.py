"""`zerossl-tui dns add|list|remove|test`: DNS providers for dns-01."""

from __future__ import annotations

import argparse
import json
import threading
from typing import Any

from ..core.dnsconf import masked, parse_options
from ..core.errors import DnsError, ZtError
from ..core.models import EventKind, ProgressEvent
from .manual import manual_factory
from .output import progress as print_progress
from .output import say
from .parser import DNS_OPTION_KEYS


def run(service: Any, args: argparse.Namespace, cancel: threading.Event) -> int:
    """Run one `dns` action against ``service``."""
    if args.action == "list":
        return _list(service, as_json=args.json)
    if args.action == "remove":
        service.remove_dns(args.name)
        say(f"DNS provider {args.name} removed")
        return 0
    if args.action == "test":
        return _test(service, args, cancel)
    return _add(service, args)


def _add(service: Any, args: argparse.Namespace) -> int:
    values: dict[str, Any] = {key.removeprefix("exec_"): getattr(args, key) for key in DNS_OPTION_KEYS}
    if args.options:
        values["options"] = parse_options(args.options)
    spec = service.set_dns(args.name, **values)
    say(f"DNS provider {spec.name} ({spec.type}) saved; check it with `zerossl-tui dns test {spec.name} DOMAIN`")
    return 0


def _list(service: Any, *, as_json: bool) -> int:
    settings = service.settings
    rows = [{**masked(spec), "used_by": sorted(c.name for c in settings.certificates.values()
                                               if c.challenge == "dns-01" and c.dns == spec.name)}
            for spec in settings.dns.values()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        say("no DNS providers yet: add one with `zerossl-tui dns add NAME --type rfc2136|lexicon|exec|manual`")
    for row in rows:
        details = ", ".join(f"{k}={_text(v)}" for k, v in row.items() if k not in ("name", "type", "used_by"))
        used = f"  (used by {', '.join(row['used_by'])})" if row["used_by"] else ""
        say(f"{row['name']}: {row['type']}" + (f"  {details}" if details else "") + used)
    return 0


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _test(service: Any, args: argparse.Namespace, cancel: threading.Event) -> int:
    service.manual_dns = manual_factory(args.non_interactive)
    lock = threading.Lock()
    held: list[ProgressEvent] = []

    def emit(event: ProgressEvent) -> None:
        if event.kind is EventKind.DNS_CLEANUP_FAILED:
            held.append(event)  # said once, in the error line that follows
        elif not args.quiet:
            with lock:
                print_progress(event)

    try:
        fqdn = service.test_dns(args.name, args.domain, progress=emit, cancel=cancel)
    except DnsError as exc:
        raise DnsError(exc.message + (LEFT_BEHIND if held else "")) from None
    except ZtError:
        for event in held:  # cancelled: the removal's failure is news of its own
            print_progress(event)
        raise
    say(f"DNS provider {args.name}: ok: a TXT record at {fqdn} was added, seen by every resolver and removed")
    return 0


# A failed test whose record could not be removed either: the record is journaled, and the next renew,
# daemon start or dashboard removes it (one error line, not a second line about the removal).
LEFT_BEHIND = "; its test record may remain in the zone: the next renew or daemon start removes it"
