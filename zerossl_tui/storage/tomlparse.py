"""The TOML parser of the settings and secrets files: ``tomli``, which is the standard library's ``tomllib``
compiled with mypyc (the same parser, so the same errors; about twice as fast on a settings file of 10,000
certificates), or ``tomllib`` itself when tomli is not installed."""

from __future__ import annotations

try:
    from tomli import TOMLDecodeError, loads
except ImportError:  # pragma: no cover
    from tomllib import TOMLDecodeError, loads  # type: ignore[assignment]

__all__ = ["TOMLDecodeError", "loads"]
