"""Service: the one API that the dashboard and the command line call (``CertificateService``).

Holds the order flow (lock, journal, store, deploy, hooks, backoff), accounts, ARI, the scheduler and the
daemon loop. The service builds one ``Deps`` (settings snapshot, storage interfaces, clock, progress) per
operation and hands it to the modules that do the work; none of them imports ``service.service``.
May import: core, engine, storage. Never Textual.
"""
