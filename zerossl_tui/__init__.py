"""zerossl-tui: issue, renew and revoke TLS certificates from any ACME CA, from a dashboard or headless."""

__version__ = "0.1.0"
