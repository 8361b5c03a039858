"""Helpers for trying and testing zerossl-tui: not product logic.

Holds the Pebble launcher (a local test CA), the sandbox (`zerossl-tui sandbox`: Pebble plus example
settings) and demo data (screenshots, snapshot tests, benchmarks). May import every product layer; no
product layer imports it, except the CLI's `sandbox` command, which starts it lazily.
"""
