"""One certificate's files on one fleet host are written by one deployment at a time.

A `renew --force` on a fleet host deploys the version it just ordered while the daemon's fleet agent on
the same host may be deploying a version another host made current. Without a lock the two could rename
their files in turn and leave the certificate of one beside the key of the other: a pair that no web
server loads. Both go through the host's deploy lock, so at rest the host always serves a matching pair,
and what it records serving is what is on its disk.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pgserver import pg_dsn, pg_server  # noqa: F401
from test_fleet_agent import self_signed

from zerossl_tui.core.models import CertificateSpec
from zerossl_tui.storage.postgres import PgCertificateStore, ensure_key_file, open_postgresql

ROUNDS = 12


def meta(serial: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {"serial": serial, "not_before": now.isoformat(), "not_after": now.replace(year=2099).isoformat(),
            "domains": ["site.fleet.test"]}


def same_key(cert_pem: bytes, key_pem: bytes) -> bool:
    """True when the certificate's public key is the key file's."""
    public = x509.load_pem_x509_certificate(cert_pem).public_key()
    private = serialization.load_pem_private_key(key_pem, None)
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    return public.public_bytes(*raw) == private.public_key().public_bytes(*raw)


def race(agent_store: PgCertificateStore, cli_store: object, spec: CertificateSpec,
         ours: tuple[bytes, bytes, str]) -> None:
    """At the same instant: the agent deploys the fleet's current version, and the order of a `renew
    --force` on this host stores and deploys its own new version."""
    start = threading.Barrier(2)

    def agent() -> None:
        start.wait()
        agent_store.deploy_current(spec)

    def renew_force() -> None:
        assert isinstance(cli_store, PgCertificateStore)
        start.wait()
        stored = cli_store.save_version("site", ours[0], ours[1], b"", ours[1], meta(ours[2]))
        cli_store.deploy(spec, stored)

    threads = [threading.Thread(target=agent), threading.Thread(target=renew_force)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)


def test_an_order_and_the_agent_deploying_one_certificate_at_once_never_leave_a_mismatched_pair(
    tmp_path: Path, pg_dsn: str,  # noqa: F811
) -> None:
    key_file, locks = tmp_path / "fleet.key", tmp_path / "data" / "locks" / "deploy"
    ensure_key_file(key_file)
    now = datetime.now(UTC)
    # This host's daemon (its agent) and a `renew --force` on the same host: two processes, one lock folder.
    daemon = open_postgresql(pg_dsn, "web-9", key_file, now, deploy_locks=locks)
    cli = open_postgresql(pg_dsn, "web-9", key_file, now, deploy_locks=locks)
    other = open_postgresql(pg_dsn, "web-1", key_file, now)  # another host renews too
    spec = CertificateSpec("site", ("site.fleet.test",), "local", certfile=str(tmp_path / "srv" / "site.pem"),
                           keyfile=str(tmp_path / "srv" / "site.key"))
    agent_store, cli_store = daemon.store, cli.store
    assert isinstance(agent_store, PgCertificateStore)
    try:
        for _ in range(ROUNDS):
            key_pem, cert_pem, serial = self_signed("site.fleet.test")
            other.store.save_version("site", key_pem, cert_pem, b"", cert_pem, meta(serial))
            race(agent_store, cli_store, spec, self_signed("site.fleet.test"))
            served_cert, served_key = Path(spec.certfile).read_bytes(), Path(spec.keyfile).read_bytes()
            assert same_key(served_cert, served_key), "the host serves a certificate beside another one's key"
            recorded = agent_store.hosts.served_versions()["site"]
            stored_version = agent_store.load_version("site", recorded)
            assert stored_version is not None and stored_version.cert_pem == served_cert  # the record says true
        # At rest the agent brings the host to the fleet's current version, without a second deployment.
        agent_store.deploy_current(spec)
        current = agent_store.current("site")
        assert current is not None and Path(spec.certfile).read_bytes() == current.cert_pem
        assert agent_store.deploy_current(spec) is None  # served already: nothing written, no hook
    finally:
        for backend in (daemon, cli, other):
            backend.close()
