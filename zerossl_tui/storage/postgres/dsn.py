"""The fleet database's connection string: its password lives apart from it (secrets.toml, ~/.pgpass or
PGPASSWORD), so a DSN can be written to settings.toml and shown; everything else (sslmode, ...) passes
through to libpq untouched."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ...core.errors import ConfigError
from .db import describe


def parse_dsn(dsn: str) -> dict[str, str | int | None]:
    """libpq's reading of ``dsn``; ConfigError (without the DSN, which may hold a password) when invalid."""
    try:
        return {k: (v if isinstance(v, int | None) else str(v)) for k, v in conninfo_to_dict(dsn).items()}
    except psycopg.Error:
        raise ConfigError("[storage] dsn is not a valid PostgreSQL connection string: give one like"
                          " postgresql://USER@HOST:PORT/DATABASE (the password goes in secrets.toml)") from None


def split_password(dsn: str) -> tuple[str, str]:
    """(``dsn`` without its password, the password or "")."""
    parts = parse_dsn(dsn)
    password = str(parts.pop("password", "") or "")
    if not password:
        return dsn, ""
    return make_conninfo("", **{k: v for k, v in parts.items() if v is not None}), password


def same_dsn(a: str, b: str) -> bool:
    """True when two connection strings say the same thing (a URI and its key=value form are the same)."""
    try:
        return a == b or parse_dsn(a) == parse_dsn(b)
    except ConfigError:
        return False


def with_password(dsn: str, password: str) -> str:
    """``dsn`` with ``password`` added (none added when empty: libpq then reads ~/.pgpass or PGPASSWORD)."""
    if not password:
        return dsn
    return make_conninfo(dsn, password=password)


def check_no_password(dsn: str) -> None:
    """ConfigError when a DSN meant for settings.toml holds a password."""
    if split_password(dsn)[1]:
        raise ConfigError("[storage] dsn holds a password: remove it from settings.toml and keep it in"
                          " secrets.toml ([storage] password), ~/.pgpass or PGPASSWORD")


def shown_dsn(dsn: str) -> str:
    """``host:port/dbname`` of ``dsn``: what messages and `storage status` show of it."""
    return describe(dsn)
