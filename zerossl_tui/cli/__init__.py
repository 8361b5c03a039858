"""CLI: the ``zerossl-tui`` command (argparse), its text and ``--json`` output, exit statuses 0/1/2.

May import: core, service, and (lazily) ui to open the dashboard and devtools for ``sandbox``.
"""
