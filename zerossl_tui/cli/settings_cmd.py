"""`zerossl-tui settings show|set` and `notify set`: the [general], [renewal], [ui] and [notify] values
that the dashboard's settings screen edits, for a headless server without an editor session.

Values go through ``core.validate.setting_value`` and ``service.update_table`` (``core.settings.validate_table``,
then an atomic write), the path the settings screen's Save takes; [storage] and its password are refused
there (``storage use`` copies first; secrets live in secrets.toml).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from ..core.schema import NOTIFY_EVENTS, NOTIFY_FIELDS, TABLES
from ..core.validate import SETTABLE
from . import output

EPILOG = """examples:
  zerossl-tui settings show
  zerossl-tui settings show --json
  zerossl-tui settings set renewal.concurrency 8
  zerossl-tui settings set renewal.deploy_hook "systemctl reload nginx"
  zerossl-tui settings set ui.autorenew false
  zerossl-tui settings set notify.events failure,expiring

keys:
""" + "\n".join(f"  {t}.{f.key}: {f.doc}" for t in SETTABLE for f in TABLES[t]) + """

[storage] is changed with `zerossl-tui storage use`; provider, certificate and DNS settings with their own
commands (`provider add`, `add`/`edit`, `dns add`)."""
NOTIFY_DOCS = {f.key: f.doc for f in NOTIFY_FIELDS}


def add_parser(cmd: Any, common: argparse.ArgumentParser, parser_class: type) -> None:
    """``settings show [--json]`` and ``settings set TABLE.KEY VALUE``."""
    settings = cmd("settings", "show or change the [general], [renewal], [ui] and [notify] settings")
    settings.epilog, settings.formatter_class = EPILOG, argparse.RawDescriptionHelpFormatter
    sub = settings.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=parser_class)
    show = sub.add_parser("show", parents=[common], help="every value, defaults included",
                          epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    show.add_argument("--json", action="store_true", help="machine-readable output")
    put = sub.add_parser("set", parents=[common], help="change one value (checked, then saved atomically)",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    put.add_argument("key", metavar="TABLE.KEY", help="such as renewal.concurrency (see the keys below)")
    put.add_argument("value", metavar="VALUE", help="a number, true/false, text, or a comma-separated list")


def add_notify_set(actions: Any, common: argparse.ArgumentParser) -> None:
    """``notify set [--events LIST] [--expiring-days N]``."""
    put = actions.add_parser("set", parents=[common], help="choose which events notify, and when `expiring` starts")
    put.add_argument("--events", metavar="LIST", help=f"comma-separated, from: {', '.join(NOTIFY_EVENTS)}. "
                     + NOTIFY_DOCS["events"].split(". ")[0] + ".")
    put.add_argument("--expiring-days", metavar="N", help=NOTIFY_DOCS["expiring_days"])


def run(service: Any, args: argparse.Namespace) -> int:
    """``settings show`` or ``settings set``."""
    if args.action == "show":
        show(service.settings, as_json=args.json)
        return 0
    from ..core.validate import check_path, setting_key, setting_value

    table, field = setting_key(args.key)
    value = setting_value(field, args.value, args.key)
    if field.path and value:  # as `add --certfile` does: relative to where the command runs, not to the file
        value = os.path.abspath(check_path(value))  # check_path refuses ~nosuchuser
    if args.key == "ui.theme" and value:
        _check_theme(service.paths.config_file, value)
    saved = service.update_table(table, {field.key: value})
    output.say(f"{table}.{field.key} = {_text(saved.table(table)[field.key])}")
    return 0


def run_notify_set(service: Any, args: argparse.Namespace) -> int:
    """``notify set``: saves what was given, prints both values."""
    from ..core.errors import UsageError
    from ..core.validate import setting_value

    fields = {f.key: f for f in NOTIFY_FIELDS}
    given = {k: v for k, v in (("events", args.events), ("expiring_days", args.expiring_days)) if v is not None}
    if not given:
        raise UsageError("give --events LIST and/or --expiring-days N (see `zerossl-tui notify set --help`)")
    saved = service.update_table("notify", {k: setting_value(fields[k], v, f"notify.{k}") for k, v in given.items()})
    for key, value in saved.table("notify").items():
        output.say(f"notify.{key} = {_text(value)}")
    return 0


def show(settings: Any, *, as_json: bool) -> None:
    """Every settable value; ``--json`` as ``{table: {key: value}}``."""
    tables = {t: settings.table(t) for t in SETTABLE}
    if as_json:
        print(json.dumps({t: {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}
                          for t, values in tables.items()}, indent=2))
        return
    for table, values in tables.items():
        for key, value in values.items():
            output.say(f"{table}.{key} = {_text(value)}")


def _check_theme(config_file: Any, name: str) -> None:
    """A theme the dashboard knows (shipped, the user's own, or Textual's), else UsageError naming them:
    the dashboard would only warn at its next start and fall back."""
    from textual.theme import BUILTIN_THEMES

    from ..core.errors import UsageError
    from ..ui.themes import load_themes, shipped_dir, user_dir

    known = sorted(set(load_themes([shipped_dir(), user_dir(config_file)]).themes) | set(BUILTIN_THEMES))
    if name not in known:
        raise UsageError(f"ui.theme: no theme {name!r} (known: {', '.join(known)}); a theme of your own goes in "
                         f"{user_dir(config_file)}")


def _text(value: Any) -> str:
    """As typed to ``settings set``: lists comma-separated, booleans lower case, empty text as ""."""
    if isinstance(value, (list, tuple)):
        return ",".join(value) or '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else '""'
