"""A certificate added while the sandbox runs (its dashboard's `a`, which fills in port 80) validates where the
sandbox's Pebble looks, as the example certificates do: it used to fail with "connection refused"."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Home

from zerossl_tui.devtools.pebble import PebbleMissing, find_pebble
from zerossl_tui.devtools.sandbox import PROVIDER, Sandbox

pytestmark = pytest.mark.pebble


def test_a_certificate_added_in_the_sandbox_is_issued(home: Home, tmp_path: Path) -> None:
    try:
        find_pebble()
    except PebbleMissing as exc:
        pytest.skip(str(exc))
    with Sandbox(home=tmp_path / "sandbox") as sandbox:
        service = sandbox.service()
        service.add_certificate("web", ["web.sandbox.test"], http_port=80)  # what the add form sends
        spec = service.certificate("web")
        assert (spec.provider, spec.http_port, spec.http_bind) == (PROVIDER, sandbox.pebble.http_port, "127.0.0.1")
        info = service.issue("web")
        assert info.serial and "web.sandbox.test" in info.domains
        service.edit_certificate("web", http_port=8080)  # the edit form alike
        assert service.certificate("web").http_port == sandbox.pebble.http_port
        service.add_certificate("www", ["www.sandbox.test"], webroot=str(tmp_path / "www"))
        assert service.certificate("www").webroot  # a web root is the user's choice: kept
