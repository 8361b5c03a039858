"""Two inputs the fourth review found accepted: a directory URL whose port cannot exist, and a verify endpoint
typed twice (kept twice in the settings, then checked and exported twice)."""

from __future__ import annotations

import tomllib

from conftest import Home


def test_a_directory_url_with_a_port_over_65535_is_refused_in_one_line(home: Home) -> None:
    done = home.run("provider", "add", "lab", "--directory", "https://localhost:99999/dir")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "port 99999" in done.stderr and "1 to 65535" in done.stderr
    assert not home.config.exists() or "lab" not in home.config.read_text()


def test_a_verify_endpoint_given_twice_is_kept_once(home: Home) -> None:
    home.run("provider", "add", "lab", "--directory", "https://localhost:14000/dir", check=True)
    home.run("add", "shop", "-d", "shop.example.test", "--provider", "lab", "--verify", "127.0.0.1:8443",
             "--verify", "[::1]:8443", "--verify", "127.0.0.1:8443", check=True)
    saved = tomllib.loads(home.config.read_text())["certificates"]["shop"]["verify"]
    assert saved == ["127.0.0.1:8443", "[::1]:8443"]
