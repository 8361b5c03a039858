"""UI: the Textual dashboard over the one service.

Holds the app, its screens and widgets, the .tcss style sheets and theme loading. Long work runs in named
thread workers that call the service, with a cancel event passed down; results come back as messages.
May import: core, service, textual. Never acme, josepy or cryptography.
"""
