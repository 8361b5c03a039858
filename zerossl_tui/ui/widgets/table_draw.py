"""How the certificates table draws: its colours from the theme, cached styles, cells cut to width."""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len, set_cell_size
from rich.style import Style
from textual.color import Color

Palette = dict[str, str]


def palette_from(variables: dict[str, str]) -> Palette:
    """Cell colours from the theme's CSS variables (alpha blended onto the background)."""
    background = Color.parse(variables.get("background", "#000000"))

    def solid(name: str, fallback: str) -> str:
        return (background + Color.parse(variables.get(name, fallback))).hex6

    return {
        "success": solid("success", "#00ff00"), "warning": solid("warning", "#ffff00"),
        "error": solid("error", "#ff0000"), "accent": solid("accent", "#00ffff"),
        "muted": solid("foreground-muted", "#888888"),
    }


@lru_cache(maxsize=256)
def parse_style(text: str) -> Style:
    """A Rich style from ``"bold #ff0000"`` (cached: a handful of distinct styles are used)."""
    return Style.parse(text) if text else Style()


def fit(text: str, width: int, right: bool = False) -> str:
    """``text`` cut or padded to exactly ``width`` cells."""
    if cell_len(text) > width:
        return set_cell_size(text[: width - 1], width - 1) + "…"
    return set_cell_size(text, width) if not right else " " * (width - cell_len(text)) + text
