"""Entry point of `zerossl-tui`: parse, call the service, print one clear line per error."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ..core.errors import UsageError, ZtError
from ..core.models import ProgressEvent
from ..core.validate import check_reason
from . import output, settings_cmd
from .parser import CERT_OPTION_KEYS, build_parser

if TYPE_CHECKING:
    from ..service.deps import Progress


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status (0 ok, 1 operation failed, 2 usage/settings)."""
    args = build_parser().parse_args(argv)
    if args.version:
        from .. import __version__

        print(f"zerossl-tui {__version__}")
        return 0
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # here, so that a reader gone away is caught below and not at exit
        return code
    except BrokenPipeError:
        # The reader stopped reading (`| head`): not an error of ours, and nothing to say about it.
        _stdout_to_devnull()
        return 0
    except ZtError as exc:
        output.error(exc.message)
        return exc.exit_code
    except KeyboardInterrupt:
        output.error("interrupted: the running order was abandoned; served files are unchanged")
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, never a traceback
        if os.environ.get("ZEROSSL_TUI_DEBUG"):
            raise
        output.error(f"unexpected {type(exc).__name__}: {exc} (set ZEROSSL_TUI_DEBUG=1 for details)")
        return 1


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush at exit cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _service(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from ..service.service import CertificateService

    return CertificateService(getattr(args, "config", None))


def _dispatch(args: argparse.Namespace) -> int:
    handlers = {
        None: _dashboard, "provider": _provider, "add": _add, "edit": _edit, "issue": _issue,
        "renew": _renew, "list": _list, "log": _log, "revoke": _revoke, "remove": _remove,
        "account": _account, "daemon": _daemon, "sandbox": _sandbox, "systemd": _systemd,
        "import": _import, "verify": _verify, "notify": _notify, "dns": _dns,
        "storage": _storage, "settings": lambda a: settings_cmd.run(_service(a), a),
    }
    return handlers[args.command](args)


def _healed_service(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The service, after finishing deployments that a killed process left half done."""
    service = _service(args)
    service.heal()
    return service


def _dashboard(args: argparse.Namespace) -> int:
    from ..ui.app import run_dashboard

    return run_dashboard(_healed_service(args))


def _provider(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.action == "list":
        output.providers(service.settings, as_json=args.json)
        return 0
    spec = service.set_provider(
        args.name, test=args.test, directory=args.directory, email=args.email, eab_kid=args.eab_kid,
        eab_hmac_key=args.eab_hmac_key, api_key=args.api_key, ca_bundle=args.ca_bundle,
        preferred_chain=args.preferred_chain,
    )
    output.say(f"provider {spec.name}: {spec.directory}" + (" (EAB configured)" if spec.has_eab else "")
               + (" (account registered)" if args.test else ""))
    return 0


def _cert_options(args: argparse.Namespace) -> dict[str, object]:
    return {key: getattr(args, key) for key in CERT_OPTION_KEYS}


def _add(args: argparse.Namespace) -> int:
    service = _service(args)
    spec = service.add_certificate(args.name, args.domains, args.provider, **_cert_options(args))
    output.say(f"added {spec.name}: {', '.join(spec.domains)} via {spec.provider}; "
          f"run `zerossl-tui issue {spec.name}` to obtain it")
    return 0


def _edit(args: argparse.Namespace) -> int:
    service = _service(args)
    options = _cert_options(args)
    if args.provider:
        options["provider"] = args.provider
    spec = service.edit_certificate(args.name, args.domains, **options)
    output.say(f"updated {spec.name}: {', '.join(spec.domains)} via {spec.provider}")
    return 0


def _wants_steps(args: argparse.Namespace) -> bool:
    # Steps go to stderr on a terminal (or with --verbose); from cron, only the result and errors print.
    wanted = getattr(args, "verbose", False) or sys.stderr.isatty()
    return wanted and not getattr(args, "quiet", False) and not getattr(args, "json", False)


def _progress_printer(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    show = _wants_steps(args)
    lock = threading.Lock()

    def emit(event: ProgressEvent) -> None:
        if show:
            with lock:
                output.progress(event)

    return emit


def _cancel_on_sigterm(*, graceful: bool = False) -> threading.Event:
    """SIGTERM cancels running orders and interrupts the main thread even inside a blocking request.

    ``graceful`` (the daemon): the first SIGTERM only sets the event, and the scheduler and its orders stop
    at their next step (an exception raised at an arbitrary point could land in a finalizer, where Python
    prints and swallows it); a second SIGTERM interrupts at once."""
    cancel = threading.Event()

    def stop(*_: object) -> None:
        first = not cancel.is_set()
        cancel.set()
        if not (graceful and first):
            raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
    return cancel


def _dns(args: argparse.Namespace) -> int:
    from . import dns_cmd

    return dns_cmd.run(_service(args), args, _cancel_on_sigterm())


def _ordering_service(  # type: ignore[no-untyped-def]
    args: argparse.Namespace, progress: Progress, names: list[str] | None, service=None,
):
    """The service for `issue` and `renew`: healed (deployments and dns-01 records a killed process left)
    for ``names`` only (None: every certificate), with the terminal as the person behind a `manual` DNS
    provider. Only the named ones: renewing one certificate must not run another's deploy hooks."""
    from .manual import manual_factory

    service = service or _service(args)
    service.heal(names, progress=progress)
    service.manual_dns = manual_factory(getattr(args, "non_interactive", False))
    return service


def _issue(args: argparse.Namespace) -> int:
    progress = _progress_printer(args)
    service = _ordering_service(args, progress, [args.name])
    try:
        info = service.issue(args.name, progress=progress, cancel=_cancel_on_sigterm())
    except ZtError:
        _after_order(service, [])
        raise
    output.issued(args.name, info, as_json=args.json)
    _after_order(service, [args.name])
    return 0


def _renew(args: argparse.Namespace) -> int:
    from .progress import BulkProgress, interruptible, wants_bar

    cancel = _cancel_on_sigterm()
    service = _service(args)
    bar = wants_bar(args.json) and not args.quiet
    total = _renew_total(service, args) if bar else 0
    show = BulkProgress(total, bar=bar, steps=_wants_steps(args) and (not bar or args.verbose))
    _ordering_service(args, show, args.names or None, service)
    with interruptible(cancel, show.note), show:
        results = service.renew(args.names or None, force=args.force, progress=show, cancel=cancel)
    output.renewals(results, as_json=args.json, quiet=args.quiet)
    _after_order(service, [name for name, info, _ in results if info is not None])
    if cancel.is_set():
        output.error(f"interrupted: {output.renew_counts(results)}; run renew again for the rest")
        return 130
    return 1 if any(err for _, _, err in results) else 0


def _renew_total(service, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    """How many orders the bar counts: every named (or every) certificate when forced, else the due ones."""
    names = args.names or sorted(service.settings.certificates)
    for name in names:
        service.certificate(name)  # an unknown name is reported before any bar is drawn
    return len(names) if args.force else len(service.due(names))


def _after_order(service, names: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Verify what the renewed certificates' endpoints serve, then send the notifications that are due."""
    from ..service.watch import after_order

    after_order(service, names, output.warning)


def _list(args: argparse.Namespace) -> int:
    # A short process building a few objects per certificate, none in a cycle: at 10,000 certificates the
    # cyclic collector's passes (two of them over every object) cost ~0.15 s of CPU and free nothing.
    gc.disable()
    service = _service(args)
    served_by = service.served_by() if args.json else None
    if served_by is None:  # rows kept from the last run where they still hold (service/listing.py)
        from ..service.listing import json_rows

        texts, damaged = json_rows(service, output.view_json)
        (output.json_lines if args.json else output.table_of_rows)(texts)
    else:  # a fleet: each row also names the serial every host serves
        rows = service.views()
        output.views(rows, as_json=True, served_by=served_by)
        damaged = [row for row in rows if row.damage]
    for row in damaged:  # a damaged store file is said where a person looks, not only in --json's last_error
        output.warning(f"{row.spec.name}: {row.damage}")
    return 0


def _log(args: argparse.Namespace) -> int:
    output.orders(_service(args).orders(args.name, max(1, args.limit)), as_json=args.json)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    reason = check_reason(args.reason)
    info = _service(args).revoke(args.name, reason, progress=_progress_printer(args))
    output.revoked(args.name, info, as_json=args.json)
    return 0


def _remove(args: argparse.Namespace) -> int:
    service = _service(args)
    service.remove_certificate(args.name)
    output.say(f"removed {args.name} from management; its files were kept in {service.paths.data_dir}")
    return 0


def _account(args: argparse.Namespace) -> int:
    service = _service(args)
    if args.action == "rollover":
        output.say(f"{args.provider}: new account key in use for {service.rollover(args.provider)}")
    else:
        output.say(f"{args.provider}: account {service.deactivate(args.provider)} deactivated")
    return 0


def _daemon(args: argparse.Namespace) -> int:
    from ..service.scheduler import run_daemon
    from ..service.watch import start_watch
    from ..storage.daemon_mark import daemon_running
    from .stopping import end_promptly, stop_metrics, wait_for_storage

    # Not healed here: the scheduler's first turn heals, and waits for a fleet database that is away.
    service, cancel = _service(args), _cancel_on_sigterm(graceful=True)
    server = _start_metrics(service, args.metrics) if args.metrics else None
    start_watch(service, cancel, output.log_line)
    try:
        with daemon_running(service.paths.data_dir):  # `storage use` refuses to switch under it
            wait_for_storage(lambda: service.backend, cancel, output.log_line)
            code = run_daemon(service, cancel, log=output.log_line)
    finally:
        cancel.set()
        if server is not None:
            stop_metrics(server)
    return end_promptly(code, output.log_line)


def _start_metrics(service, listen: str):  # type: ignore[no-untyped-def]
    from ..service.metrics import parse_listen, start_metrics

    server = start_metrics(listen, service.metrics_snapshot)
    host, port = parse_listen(listen)
    shown_host = f"[{host}]" if ":" in host else host  # an IPv6 address needs brackets in a URL
    output.log_line(f"metrics at http://{shown_host}:{port}/metrics")
    return server


def _storage(args: argparse.Namespace) -> int:
    from . import storage_output

    service = _service(args)
    try:
        if args.action == "status":
            storage_output.status(service.storage_status(), service.clock.now(), as_json=args.json)
            return 0
        result = service.use_storage(args.backend, dsn=args.dsn, host_id=args.host_id, key_file=args.key_file)
        storage_output.used(result)
        return 0
    finally:
        service.close()


def _systemd(args: argparse.Namespace) -> int:
    from .units import systemd_units

    print(systemd_units(timer=args.timer, config=getattr(args, "config", None)))
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from ..devtools.sandbox import run_sandbox

    return run_sandbox(getattr(args, "config", None), ui=not args.no_ui, say=_say_now)


def _say_now(text: str) -> None:
    # Flushed at once: whoever runs the sandbox waits for these lines (the CA's URL) while it keeps running.
    output.say(text)
    sys.stdout.flush()


def _import(args: argparse.Namespace) -> int:
    from .ops_output import import_report
    from .progress import BulkProgress, wants_bar

    show = BulkProgress(None, bar=wants_bar(args.json), steps=False, what="importing")
    with show:
        report = _service(args).import_from(
            args.client, args.store_path, dry_run=args.dry_run, dns=args.dns,
            on_item=lambda done, total, item: show.item(done, total, item.name, item.action != "refuse"))
    import_report(report, as_json=args.json)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from .ops_output import endpoint_checks

    checks = _service(args).verify(args.names or None)
    endpoint_checks(checks, as_json=args.json)
    return 0 if all(c.ok for c in checks) else 1


def _notify(args: argparse.Namespace) -> int:
    from .ops_output import notify_list

    service = _service(args)
    if args.action == "add":
        url = sys.stdin.readline().strip() if args.url == "-" else args.url
        if not url and args.url == "-":
            raise UsageError("no URL on standard input: pipe one in, such as `echo 'json://host/path' | "
                             "zerossl-tui notify add -`")
        number = service.add_notify_url(url)
        notify_list(service.notify_urls(), only=number)
    elif args.action == "list":
        notify_list(service.notify_urls(), as_json=args.json)
    elif args.action == "remove":
        output.say(f"removed notification {args.number}: {service.remove_notify_url(args.number)}")
    elif args.action == "set":
        return settings_cmd.run_notify_set(service, args)
    else:
        return _notify_test(service)
    return 0


def _notify_test(service) -> int:  # type: ignore[no-untyped-def]
    from ..service.notify import NOT_SENT_HINT

    urls = service.notify_urls()
    if not urls:
        output.error("no notification URL: add one with `zerossl-tui notify add URL`")
        return 2
    failed = service.notify_test()
    for line in failed:
        output.error(f"test notification not sent to {line}: {NOT_SENT_HINT} "
                     "(`notify remove N`, then `notify add URL`)")
    output.say(f"test notification sent to {len(urls) - len(failed)} of {len(urls)} target(s)")
    return 1 if failed else 0
