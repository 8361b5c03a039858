"""A command that failed says so in exactly one ``error:`` line on stderr; what went wrong around it without
stopping it (a notification target that is down) is a ``warning:`` line, so cron mail and scripts that look
for the error find the CA's answer, not a notification problem."""

from __future__ import annotations

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleServer, free_port

pytestmark = pytest.mark.pebble


def test_a_failed_issue_has_one_error_line_and_a_dead_notification_target_is_a_warning(
    local_home: Home, pebble: PebbleServer
) -> None:
    local_home.run("notify", "add", f"json://127.0.0.1:{free_port()}/down", check=True)
    # our responder listens where Pebble never connects: the CA cannot validate, the order fails
    local_home.run("add", "shop", "-d", "shop.example.test", "--provider", "local", "--http-port",
                   str(free_port()), "--http-bind", "127.0.0.1", check=True)
    done = local_home.run("issue", "shop")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("zerossl-tui: error:")]
    assert len(errors) == 1 and "notification" not in errors[0], done.stderr
    warnings = [line for line in lines if line.startswith("zerossl-tui: warning:")]
    assert len(warnings) == 1 and "notification failure not sent" in warnings[0], done.stderr
    assert "Traceback" not in done.stderr and len(lines) == 2, done.stderr


def test_renew_quiet_from_cron_prints_nothing_when_nothing_is_due(local_home: Home, pebble: PebbleServer) -> None:
    """cron mails whatever a job prints: `renew -q` with nothing due must print nothing, and exit 0."""
    local_home.run("add", "shop", "-d", "shop.example.test", "--provider", "local", "--http-port",
                   str(pebble.http_port), "--http-bind", "127.0.0.1", check=True)
    local_home.run("issue", "shop", check=True)
    quiet = local_home.run("renew", "-q")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")
    named = local_home.run("renew", "--quiet", "shop")
    assert (named.returncode, named.stdout, named.stderr) == (0, "", "")
    assert "nothing is due" in local_home.run("renew", check=True).stdout, "without -q it still says so"
    forced = local_home.run("renew", "-q", "--force", "shop")
    assert forced.returncode == 0 and "shop: renewed" in forced.stdout, "a renewal is still reported"
