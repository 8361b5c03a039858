"""The dashboard's keys, listed once: the footer, the `?` help and the command palette all read this."""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One key: what it is bound to, its short footer label and the help sentence."""

    key: str
    action: str
    label: str
    help: str
    display: str = ""
    footer: bool = True  # the footer holds what fits in 140 columns; `?` help and ctrl+p list every key

    def binding(self, prefix: str = "") -> Binding:
        """The Textual binding shown in the footer (``prefix="app."`` to bind on a screen)."""
        return Binding(self.key, prefix + self.action, self.label, key_display=self.display or None,
                       tooltip=self.help, show=self.footer)


KEYS: tuple[Key, ...] = (
    Key("r", "renew", "Renew", "Renew the selected certificate now, whether it is due or not"),
    Key("R", "renew_due", "Renew due", "Renew every certificate that is due, several at once"),
    Key("a", "add", "Add", "Add a certificate to manage"),
    Key("e", "edit", "Edit", "Edit the selected certificate"),
    Key("d", "remove", "Remove", "Stop managing the selected certificate (its files are kept)"),
    Key("x", "revoke", "Revoke", "Revoke the selected certificate at its CA"),
    Key("k", "eab", "EAB", "External Account Binding credentials of the selected certificate's CA"),
    Key("s", "settings", "Settings", "Providers, renewal defaults, concurrency and theme"),
    Key("v", "verify", "Verify", "Check what the selected certificate's verify endpoints serve (Served column)",
        footer=False),
    Key("n", "notifications", "Notify", "Notification URLs: add one, send a test, remove one"),
    Key("D", "dns_providers", "DNS", "DNS providers for dns-01: add, edit, test, remove (secrets masked)",
        footer=False),
    Key("H", "hosts", "Hosts", "Fleet hosts (PostgreSQL storage): heartbeats, what each serves, locks",
        footer=False),
    Key("u", "accounts", "Accounts", "ACME account of each provider: key rollover and deactivation"),
    Key("slash", "filter", "Filter", "Show only certificates whose name or domain contains a text", "/"),
    Key("c", "cancel", "Cancel", "Cancel the selected certificate's running order"),
    Key("t", "theme", "Theme", "Switch to the next theme (saved for next time)", footer=False),
    Key("question_mark", "help", "Help", "Show every key", "?"),
    Key("q", "quit", "Quit", "Quit (asks first while orders run)"),
)
