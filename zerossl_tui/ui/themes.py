"""Dashboard themes: TOML files mapped onto Textual's ``Theme``.

Shipped themes live in the top-level ``themes/`` folder (packaged as ``zerossl_tui/ui/themes``); the user's
own go in ``themes/`` next to the settings file (by default ``user_config_dir('zerossl-tui')/themes``). A
file that cannot be read is reported, never fatal: the caller shows every problem in one notification.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from textual.color import Color, ColorParseError
from textual.theme import Theme

DEFAULT_THEME = "zerossl"
COLOR_KEYS = (
    "primary", "secondary", "accent", "foreground", "background", "surface", "panel", "boost",
    "success", "warning", "error",
)
OTHER_KEYS = ("name", "dark", "variables")


class ThemeFileError(ValueError):
    """A theme file that cannot be used; the message names the file and the problem."""


@dataclass
class ThemeSet:
    """Themes that loaded, by name, and one line per file that did not."""

    themes: dict[str, Theme] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def shipped_dir() -> Path:
    """The folder of themes that ship with the package."""
    return Path(__file__).resolve().parent / "themes"


def user_dir(config_file: Path) -> Path:
    """The user's own themes: ``themes/`` next to the settings file."""
    return config_file.parent / "themes"


def load_themes(folders: list[Path]) -> ThemeSet:
    """Every ``*.toml`` theme in ``folders``; later folders override earlier ones by name."""
    found = ThemeSet()
    for folder in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            try:
                theme = load_theme_file(path)
            except ThemeFileError as exc:
                found.errors.append(str(exc))
                continue
            found.themes[theme.name] = theme
    return found


def load_theme_file(path: Path) -> Theme:
    """One theme file as a Textual Theme, or ThemeFileError saying what is wrong with it."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeFileError(f"{path.name}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThemeFileError(f"{path.name}: not valid TOML ({exc})") from None
    return theme_from_dict(data, path.stem, path.name)


def theme_from_dict(data: dict[str, Any], default_name: str, source: str = "theme") -> Theme:
    """Validate a theme table: known keys only, colours that parse, a primary colour."""
    unknown = sorted(set(data) - set(COLOR_KEYS) - set(OTHER_KEYS))
    if unknown:
        raise ThemeFileError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(COLOR_KEYS)})")
    if "primary" not in data:
        raise ThemeFileError(f"{source}: missing 'primary' colour")
    colors = {key: _color(data[key], key, source) for key in COLOR_KEYS if key in data}
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name.strip():
        raise ThemeFileError(f"{source}: 'name' must be a non-empty string")
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ThemeFileError(f"{source}: 'dark' must be true or false")
    return Theme(
        name=name.strip(), primary=colors["primary"], secondary=colors.get("secondary"),
        accent=colors.get("accent"), foreground=colors.get("foreground"), background=colors.get("background"),
        surface=colors.get("surface"), panel=colors.get("panel"), boost=colors.get("boost"),
        success=colors.get("success"), warning=colors.get("warning"), error=colors.get("error"), dark=dark,
        variables=_variables(data.get("variables", {}), source),
    )


def _color(value: Any, key: str, source: str) -> str:
    if not isinstance(value, str):
        raise ThemeFileError(f"{source}: {key} must be a colour string like \"#21C087\"")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeFileError(f"{source}: {key} = {value!r} is not a colour") from None
    return value


def _variables(value: Any, source: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ThemeFileError(f"{source}: [variables] must map names to strings")
    return {str(k): v for k, v in value.items()}
