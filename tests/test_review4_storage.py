"""Fourth new-user review, `storage use`: what a refused switch leaves behind, and what [storage] accepts.
Against a real PostgreSQL on loopback, through the real CLI."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import Home
from pgserver import free_port, pg_dsn, pg_server  # noqa: F401


def one_error_line(done: object) -> str:
    stderr = str(done.stderr)  # type: ignore[attr-defined]
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


def test_a_new_key_file_the_fleet_refuses_is_not_left_behind(home: Home, tmp_path: Path, pg_dsn: str) -> None:  # noqa: F811
    """A user joining a fleet gave --key-file at a path that did not exist yet: the run used to create a
    random key there, then refuse it as 'does not match', and leave it for the next run to trust."""
    home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(tmp_path / "first.key"),
             check=True)
    second = Home(tmp_path / "web2", tmp_path / "web2" / "config" / "settings.toml", tmp_path / "web2" / "data")
    missing = tmp_path / "not-yet" / "made" / "storage.key"
    done = second.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(missing))
    assert done.returncode == 2
    line = one_error_line(done)
    assert "does not exist" in line and "copy key_file from another host" in line
    assert not missing.exists()
    assert not second.config.exists() or "postgresql" not in second.config.read_text()


def test_a_key_file_made_for_an_unreachable_database_is_not_left_behind(home: Home, tmp_path: Path) -> None:
    key = tmp_path / "keys" / "storage.key"
    dsn = f"postgresql://zt@127.0.0.1:{free_port()}/fleet"
    done = home.run("storage", "use", "postgresql", "--dsn", dsn, "--key-file", str(key))
    assert done.returncode == 1
    assert "unreachable" in one_error_line(done)
    assert not key.exists()


def test_a_host_id_with_an_escape_sequence_is_refused_and_not_saved(home: Home) -> None:
    """`storage use filesystem --host-id $'h\\e[31m'` used to save the escape into settings.toml."""
    done = home.run("storage", "use", "filesystem", "--host-id", "web\x1b[31m1")
    assert done.returncode == 2
    line = one_error_line(done)
    assert "is not a host id" in line and "\x1b" not in line
    assert not home.config.exists() or "web" not in home.config.read_text()
    assert home.run("storage", "use", "filesystem", "--host-id", "web-1.example.com").returncode == 0
    assert 'host_id = "web-1.example.com"' in home.config.read_text()


def test_a_dsn_option_libpq_refuses_is_a_configuration_error(home: Home, pg_dsn: str) -> None:  # noqa: F811
    """`--dsn ...?sslmode=bogus` used to say the server 'is unreachable: check that it runs' (exit 1): the
    user waited for a server that was fine."""
    done = home.run("storage", "use", "postgresql", "--dsn", pg_dsn.replace("zt@", "zt:pw-n0t-sh0wn@") +
                    "?sslmode=bogus")
    assert done.returncode == 2
    line = one_error_line(done)
    assert 'invalid sslmode value: "bogus"' in line and "unreachable" not in line and "storage use" in line
    assert "pw-n0t-sh0wn" not in line
    assert not home.config.exists() or "postgresql" not in home.config.read_text()


def test_a_key_file_that_is_a_fifo_or_a_device_is_refused_at_once(home: Home, tmp_path: Path, pg_dsn: str) -> None:  # noqa: F811
    """--key-file on a FIFO hung `storage use` for ever (and /dev/zero read until the kernel killed it);
    /dev/null was answered with 'run chmod 600 /dev/null'."""
    fifo = tmp_path / "key.fifo"
    os.mkfifo(fifo, 0o600)
    for path in (fifo, Path("/dev/null")):
        done = home.run("storage", "use", "postgresql", "--dsn", pg_dsn, "--key-file", str(path), timeout=30)
        assert done.returncode == 2
        line = one_error_line(done)
        assert f"storage key file {path} is not a regular file" in line and "chmod" not in line
    assert not home.config.exists() or "postgresql" not in home.config.read_text()


def test_storage_use_filesystem_refuses_a_dsn_or_key_file_instead_of_saving_them(home: Home) -> None:
    """`storage use filesystem --dsn ... --key-file ...` said 'now using filesystem' and wrote both, unchecked,
    into [storage] (and the DSN's password into secrets.toml) for the next `storage use postgresql`."""
    for extra in (("--dsn", "postgresql://zt:pw-n0t-kept@db.example.net/fleet"), ("--key-file", "/tmp/k")):
        done = home.run("storage", "use", "filesystem", *extra)
        assert done.returncode == 2
        assert "belong to `storage use postgresql`" in one_error_line(done)
    saved = "".join(p.read_text() for p in home.config.parent.glob("*.toml")) if home.config.exists() else ""
    assert "db.example.net" not in saved and "pw-n0t-kept" not in saved and "/tmp/k" not in saved
