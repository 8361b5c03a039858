"""Modal screens and the settings screen of the dashboard."""
