"""Engine: speaking ACME to a CA, and proving control of names.

Holds the ACME session over certbot's ``acme`` library (accounts, EAB, orders, ARI, revocation), keys and
CSRs, and the challenge solvers (http-01 responder and webroot, dns-01 through DNS providers). It reports
progress through a callable it is given and stops between steps when a cancel event is set.
May import: core, acme, josepy, cryptography, requests, dnspython, lexicon. Never Textual, never storage.
"""
