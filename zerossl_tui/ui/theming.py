"""The dashboard's themes: shipped and user theme files registered at start, the choice saved through the
service (like the CLI would)."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import App

from .themes import DEFAULT_THEME, load_themes, shipped_dir, user_dir


class ThemedApp(App[int]):
    """The dashboard App's theme handling (the dashboard provides ``service``)."""

    service: Any
    theme_names: list[str]

    def install_themes(self) -> None:
        """Register shipped and user themes; report bad files in one notification; apply the saved one."""
        found = load_themes([shipped_dir(), user_dir(self.service.paths.config_file)])
        for theme in found.themes.values():
            self.register_theme(theme)
        self.theme_names = sorted(found.themes)
        problems = list(found.errors)
        wanted = self.service.settings.ui.theme or DEFAULT_THEME
        if wanted not in self.available_themes:
            problems.append(f"theme {wanted!r} was not found: using {DEFAULT_THEME}")
            wanted = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else "textual-dark"
        if problems:
            self.notify("\n".join(problems), title="Theme files", severity="warning", timeout=10)
        self.theme = wanted

    @work(thread=True, exclusive=True, exit_on_error=False, group="theme", name="save theme")
    def save_theme(self, name: str) -> None:
        """Persist the theme without blocking the UI."""
        self.service.update_table("ui", {"theme": name})
