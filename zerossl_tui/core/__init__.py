"""Core: what every layer shares, with no dependency but the standard library.

Holds the models (frozen dataclasses), the errors (one base class with a title and a one-line message),
the settings schema and its typed tables, domain-name and input rules, the pure renewal policy (``now`` is
always an argument), the clock, and the storage interfaces (Protocols) that backends implement.
May import: the standard library, and ``idna`` (pure Python, no I/O: the IDNA 2008 / UTS 46 tables that
``domains`` needs, which the standard library lacks).
"""
