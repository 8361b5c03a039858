"""The argparse definition of the command-line contract (DESIGN.md)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from ..core.models import CHALLENGES, KEY_TYPES, REVOCATION_REASONS
from ..core.schema import DNS_FIELDS, STORAGE_BACKENDS, STORAGE_FIELDS
from ..core.settings import BUILTIN_PROVIDERS, CERTIFICATE_FIELDS, PROVIDER_FIELDS
from . import settings_cmd
from .output import clipped, printable

DOCS = {f.key: f.doc for f in (*CERTIFICATE_FIELDS, *PROVIDER_FIELDS)}
DNS_DOCS = {f.key: f.doc for f in DNS_FIELDS}
EPILOG = """examples:
  zerossl-tui sandbox                                   try everything against a local test CA
  zerossl-tui provider add zerossl --email ops@example.com
  zerossl-tui add shop -d shop.example.com -d www.shop.example.com --provider zerossl \\
      --certfile /etc/ssl/shop/fullchain.pem --keyfile /etc/ssl/shop/privkey.pem
  zerossl-tui issue shop
  zerossl-tui renew                                     from cron: renews only what is due
  zerossl-tui dns add bind --type rfc2136 --server ns1.example.com --tsig-key-name acme --tsig-secret S
  zerossl-tui add wild -d '*.example.com' -d example.com --challenge dns-01 --dns bind

exit status: 0 success, 1 an operation failed, 2 usage or settings error.
settings: $ZEROSSL_TUI_CONFIG or --config FILE, else the platform's config folder."""


class Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line and exits 2."""

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """argparse's ``parse_args``, but unrecognized arguments are named without the values that follow an
        unknown option: ``--eab-hmac-keyy SECRET`` must not print the secret."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            # named by the subcommand that was given, so the hint points at the --help that lists its options
            _deepest(self, sys.argv[1:] if args is None else list(args)).error(
                "unrecognized arguments: " + " ".join(_redacted(extras)))
        return parsed

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {printable(clipped(message))} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _deepest(parser: argparse.ArgumentParser, args: list[str]) -> argparse.ArgumentParser:
    """The parser of the innermost subcommand named in ``args`` (``notify list`` of ``notify list --x``)."""
    for word in args:
        choices = next((a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if isinstance(choices, dict) and word in choices:
            parser = choices[word]
    return parser


def _redacted(extras: list[str]) -> list[str]:
    """Each unrecognized argument, or ``<value>`` in place of one that follows an unknown option."""
    return ["<value>" if i and extras[i - 1].startswith("-") and not arg.startswith("-") and "=" not in extras[i - 1]
            else arg.split("=", 1)[0] + ("=<value>" if arg.startswith("-") and "=" in arg else "")
            for i, arg in enumerate(extras)]


def build_parser() -> Parser:
    """The full command tree."""
    common = Parser(add_help=False)
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="settings file (default: $ZEROSSL_TUI_CONFIG or the platform config folder)")
    parser = Parser(prog="zerossl-tui", parents=[common], epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter,
                    description="Issue, renew and revoke TLS certificates from ZeroSSL, Let's Encrypt or any "
                                "ACME CA. With no command, opens the dashboard.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    def cmd(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, description=help_text, parents=[common])

    _provider_commands(cmd("provider", "add, update or list CAs (providers)"), common)
    _cert_options(cmd("add", "add a certificate to manage"), required=True)
    _cert_options(cmd("edit", "change a managed certificate's settings"), required=False)
    issue = cmd("issue", "obtain the certificate now, whatever its state")
    issue.add_argument("name", help="certificate name")
    _output_options(issue)
    _manual_option(issue)
    renew = cmd("renew", "renew certificates that are due (all by default); nothing when none is due")
    renew.add_argument("names", nargs="*", metavar="NAME", help="certificates to consider (default: all)")
    renew.add_argument("--force", action="store_true", help="renew even when not due")
    _output_options(renew)
    _manual_option(renew)
    _dns_commands(cmd("dns", "add, list, remove and test DNS providers (for dns-01 and wildcards)"), common)
    listing = cmd("list", "names, domains, provider, status, not-after, next renewal")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    log = cmd("log", "a certificate's orders and their events, newest first")
    log.add_argument("name", help="certificate name")
    log.add_argument("--limit", type=_positive, default=20, help="how many orders (default 20)")
    log.add_argument("--json", action="store_true", help="machine-readable output")
    revoke = cmd("revoke", "revoke the current certificate at its CA")
    revoke.add_argument("name", help="certificate name")
    revoke.add_argument("--reason", default="unspecified",
                        help="one of: " + ", ".join(REVOCATION_REASONS) + " (default unspecified)")
    _output_options(revoke)
    remove = cmd("remove", "stop managing a certificate (its files are kept)")
    remove.add_argument("name", help="certificate name")
    account = cmd("account", "account key rollover and deactivation")
    acc_sub = account.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    for action, text, more in (
        ("rollover", "replace the account key at the CA (RFC 8555 7.3.5)",
         "; the new key is kept only once the CA accepted it, and the account (URL, orders, rate limits) stays "
         "the same"),
        ("deactivate", "deactivate the account at the CA",
         ": permanent and not asked again (the CA refuses that account and key from then on); certificates "
         "already issued stay valid, and the next order registers a new account (ARI replaces cannot carry on)"),
    ):
        p = acc_sub.add_parser(action, help=text, description=text + more, parents=[common])
        p.add_argument("provider", help="provider name")
    daemon = cmd("daemon", "headless autorenewal loop (logs to stderr and the journal); SIGTERM stops it")
    daemon.add_argument("--metrics", metavar="HOST:PORT", default="",
                        help="also serve Prometheus metrics at /metrics (a bare PORT listens on 127.0.0.1)")
    systemd = cmd("systemd", "print a ready systemd service for the daemon (or a timer for `renew`)")
    systemd.add_argument("--timer", action="store_true",
                         help="print a oneshot service and a twice-daily timer running `renew` instead")
    _storage_commands(cmd("storage", "choose where certificates live (filesystem, or PostgreSQL for a fleet)"),
                      common)
    sandbox = cmd("sandbox", "open the dashboard against a local Pebble test CA, fully offline")
    sandbox.add_argument("--no-ui", action="store_true", help="start the CA and print its settings only")
    _ops_commands(cmd, common)
    settings_cmd.add_parser(cmd, common, Parser)
    _describe(parser)
    return parser


def _positive(text: str) -> int:
    """A whole number of at least 1 (argparse names the option when this raises)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"give at least 1, not {value}")
    return value


def _describe(parser: argparse.ArgumentParser) -> None:
    """Give every subcommand without a description its one-line help as one, so that its ``--help`` says
    what it does above its options (``dns test --help`` used to show only the usage)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                sub.description = sub.description or helps.get(name)
                _describe(sub)


def _output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print no progress lines, even on a terminal; `renew` prints nothing at all unless a "
                   "certificate was renewed or failed (for cron)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every ACME step on stderr even when it is not a terminal")


def _provider_commands(provider: argparse.ArgumentParser, common: Parser) -> None:
    sub = provider.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    add = sub.add_parser("add", parents=[common], help="add or update a provider",
                         description="Add or update a CA. Built-in names: " + ", ".join(BUILTIN_PROVIDERS)
                         + " (their directory is known).")
    add.add_argument("name", help="provider name")
    add.add_argument("--directory", metavar="URL", help=DOCS["directory"])
    add.add_argument("--email", metavar="E", help=DOCS["email"])
    add.add_argument("--eab-kid", metavar="K", help=DOCS["eab_kid"])
    add.add_argument("--eab-hmac-key", metavar="H", help=DOCS["eab_hmac_key"])
    add.add_argument("--api-key", metavar="KEY", help=DOCS["api_key"])
    add.add_argument("--ca-bundle", metavar="F", help=DOCS["ca_bundle"])
    add.add_argument("--preferred-chain", metavar="ISSUER_CN", help=DOCS["preferred_chain"])
    add.add_argument("--test", action="store_true",
                     help="register the account now, and save nothing unless the CA accepts it")
    listing = sub.add_parser("list", parents=[common], help="list providers")
    listing.add_argument("--json", action="store_true", help="machine-readable output")


def _storage_commands(storage: argparse.ArgumentParser, common: Parser) -> None:
    docs = {f.key: f.doc for f in STORAGE_FIELDS}
    sub = storage.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    use = sub.add_parser("use", parents=[common], help="switch backend, copying and verifying everything first",
                         description="Switch the storage backend. Everything the current backend holds is copied"
                         " and verified before [storage] is written; running it again changes nothing.")
    use.add_argument("backend", choices=STORAGE_BACKENDS, help=docs["backend"])
    use.add_argument("--dsn", metavar="DSN", help=docs["dsn"] + " A password in it is moved to secrets.toml.")
    use.add_argument("--host-id", metavar="ID", help=docs["host_id"])
    use.add_argument("--key-file", metavar="F", help=docs["key_file"] + " Created when missing.")
    status = sub.add_parser("status", parents=[common], help="backend, schema, hosts and what they serve, locks",
                            description="The storage backend, its schema version, every host of the fleet with"
                            " its last heartbeat and the serial it serves per certificate, and the locks held.")
    status.add_argument("--json", action="store_true", help="machine-readable output")


def _cert_options(p: argparse.ArgumentParser, *, required: bool) -> None:
    p.add_argument("name", help="certificate name (letters, digits, '.', '_', '-')")
    p.add_argument("-d", "--domain", dest="domains", action="append", required=required, metavar="DOMAIN",
                   help="a name to cover; repeat for more (up to 100)")
    p.add_argument("--provider", metavar="P", help=DOCS["provider"])
    p.add_argument("--key-type", choices=KEY_TYPES, help=DOCS["key_type"])
    solver = p.add_mutually_exclusive_group()
    solver.add_argument("--http-port", type=int, metavar="N", help=DOCS["http_port"])
    solver.add_argument("--webroot", metavar="DIR", help=DOCS["webroot"])
    p.add_argument("--http-bind", metavar="ADDR", help=DOCS["http_bind"])
    p.add_argument("--certfile", metavar="F", help=DOCS["certfile"])
    p.add_argument("--keyfile", metavar="F", help=DOCS["keyfile"])
    p.add_argument("--fullchain", metavar="F", help=DOCS["fullchain"])
    p.add_argument("--chainfile", metavar="F", help=DOCS["chainfile"])
    p.add_argument("--owner", metavar="USER", help=DOCS["owner"])
    p.add_argument("--group", metavar="GROUP", help=DOCS["group"])
    p.add_argument("--reuse-key", action=argparse.BooleanOptionalAction, default=None, help=DOCS["reuse_key"])
    p.add_argument("--deploy-hook", metavar="CMD", help=DOCS["deploy_hook"])
    p.add_argument("--failure-hook", metavar="CMD", help=DOCS["failure_hook"])
    p.add_argument("--profile", metavar="NAME", help=DOCS["profile"])
    p.add_argument("--required-profile", metavar="NAME", help=DOCS["required_profile"])
    p.add_argument("--preferred-chain", metavar="ISSUER_CN", help=DOCS["preferred_chain"])
    # both at once would keep whichever came last, silently dropping the other
    verify = p.add_mutually_exclusive_group()
    verify.add_argument("--verify", action="append", metavar="HOST:PORT", help=DOCS["verify"] + " Repeat for more.")
    if not required:
        verify.add_argument("--no-verify", dest="verify", action="store_const", const=[],
                            help="stop verifying what the endpoints serve")
    p.add_argument("--challenge", choices=CHALLENGES, help=DOCS["challenge"])
    p.add_argument("--dns", metavar="DNSNAME", help=DOCS["dns"] + " Implies --challenge dns-01.")


def _manual_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--non-interactive", action="store_true",
                   help="fail at once instead of waiting for a person (a manual DNS provider); implied when "
                        "stdin is not a terminal")


DNS_EPILOG = """examples:
  zerossl-tui dns add bind --type rfc2136 --server ns1.example.com:53 --tsig-key-name acme \\
      --tsig-secret "$(cat secret)" --zone example.com
  zerossl-tui dns add cf --type lexicon --lexicon-provider cloudflare --option auth_token=TOKEN
  zerossl-tui dns add hook --type exec --command /usr/local/bin/dns-hook
  zerossl-tui dns add person --type manual
  zerossl-tui dns test bind example.com
Secrets (--tsig-secret, credential options such as auth_token) are kept 0600 in secrets.toml."""


def _dns_commands(dns: argparse.ArgumentParser, common: Parser) -> None:
    sub = dns.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    add = sub.add_parser("add", parents=[common], help="add or update a DNS provider (nothing is contacted)",
                         description="Add or update a DNS provider for dns-01. Saving contacts nothing: "
                                     "check it with `dns test NAME DOMAIN`.",
                         epilog=DNS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    add.add_argument("name", help="DNS provider name (letters, digits, '.', '_', '-')")
    add.add_argument("--type", choices=("rfc2136", "lexicon", "exec", "manual"), help=DNS_DOCS["type"])
    for flag, key, meta in (("--server", "server", "HOST[:PORT]"), ("--tsig-key-name", "tsig_key_name", "K"),
                            ("--tsig-secret", "tsig_secret", "S"), ("--tsig-algorithm", "tsig_algorithm", "A"),
                            ("--lexicon-provider", "lexicon_provider", "P"), ("--command", "exec_command", "PROGRAM"),
                            ("--zone", "zone", "Z")):
        add.add_argument(flag, dest=key, metavar=meta, help=DNS_DOCS[key.removeprefix("exec_")])
    add.add_argument("--option", dest="options", action="append", metavar="KEY=VALUE",
                     help="lexicon: one provider option (such as pdns_server=URL); repeat for more. Credentials "
                          "(auth_*, tokens, secrets, passwords, keys) are kept 0600 in secrets.toml")
    add.add_argument("--resolver", dest="resolvers", action="append", metavar="HOST[:PORT]",
                     help="a server that must answer every record before the CA is asked; repeat for more "
                          "(default: the zone's authoritative servers)")
    add.add_argument("--propagation-timeout", type=int, metavar="S", help=DNS_DOCS["propagation_timeout"])
    add.add_argument("--ttl", type=int, metavar="S", help=DNS_DOCS["ttl"])
    add.add_argument("--timeout", type=int, metavar="S", help=DNS_DOCS["timeout"])
    listing = sub.add_parser("list", parents=[common], help="list DNS providers (secrets masked)")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = sub.add_parser("remove", parents=[common], help="forget a DNS provider (refused while used)")
    remove.add_argument("name", help="DNS provider name")
    test = sub.add_parser("test", parents=[common], help="put a random TXT at _acme-challenge.DOMAIN, wait "
                          "until the resolvers see it, remove it: checks the settings before the first order")
    test.add_argument("name", help="DNS provider name")
    test.add_argument("domain", help="a name the provider's zone covers (example.com or *.example.com)")
    test.add_argument("-q", "--quiet", action="store_true", help="print only the result")
    _manual_option(test)


# `--command` is kept as exec_command: argparse's `command` is the subcommand.
DNS_OPTION_KEYS = ("type", "server", "tsig_key_name", "tsig_secret", "tsig_algorithm", "lexicon_provider",
                   "exec_command", "zone", "resolvers", "propagation_timeout", "ttl", "timeout")


CERT_OPTION_KEYS = ("key_type", "http_port", "webroot", "http_bind", "certfile", "keyfile", "fullchain",
                    "chainfile", "reuse_key", "deploy_hook", "failure_hook", "profile", "required_profile",
                    "verify", "preferred_chain", "challenge", "dns", "owner", "group")


NOTIFY_EPILOG = ("events sent (choose with `notify set --events LIST`): failure (an issuance or renewal "
                 "attempt failed), expiring (under `notify set --expiring-days N`, default 14, left), "
                 "verify-failed (an endpoint does not serve the current certificate), recovered; each once per "
                 "certificate and event, then at most once a day while it lasts. `renew`, `issue` and the daemon "
                 "send them.")


def _ops_commands(cmd: Any, common: argparse.ArgumentParser) -> None:
    """import, verify and notify (issue 13); every notify action takes --config like every other command."""
    imp = cmd("import", "adopt certificates, keys and accounts of certbot, lego or acme.sh without re-issuing")
    imp.add_argument("client", choices=("certbot", "lego", "acme.sh"), help="the client to import from")
    imp.add_argument("--config-dir", "--path", "--home", dest="store_path", metavar="DIR", default="",
                     help="its folder (certbot --config-dir, default /etc/letsencrypt; lego --path, default "
                          "~/.lego; acme.sh --home, default ~/.acme.sh)")
    imp.add_argument("--dry-run", action="store_true", help="print what would be imported; write nothing")
    imp.add_argument("--dns", metavar="NAME", default="",
                     help="a DNS provider (`dns add`) through which wildcards and the certificates the other "
                          "client proved over DNS renew (dns-01); without it they are refused or noted")
    imp.add_argument("--json", action="store_true", help="machine-readable output")
    verify = cmd("verify", "check that each `verify` endpoint serves the current certificate (exit 1 if not)")
    verify.add_argument("names", nargs="*", metavar="NAME", help="certificates to check (default: all)")
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    notify = cmd("notify", "notifications through apprise URLs (mailto://, json://, Slack, ntfy, ...)")
    notify.epilog = NOTIFY_EPILOG
    actions = notify.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=Parser)
    add = actions.add_parser("add", parents=[common], help="add a URL (kept in secrets.toml)",
                             description="add a URL (kept in secrets.toml); give - to read it from standard "
                             "input, out of the process list", epilog=NOTIFY_EPILOG)
    add.add_argument("url", metavar="URL", help="an apprise URL, or - to read it from standard input")
    listing = actions.add_parser("list", parents=[common], help="the URLs, masked")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = actions.add_parser("remove", parents=[common], help="forget URL number N (as `notify list` shows)")
    remove.add_argument("number", type=int, metavar="N", help="its number in `notify list`")
    actions.add_parser("test", parents=[common], help="send a test message to every URL (exit 1 if one fails)")
    settings_cmd.add_notify_set(actions, common)

