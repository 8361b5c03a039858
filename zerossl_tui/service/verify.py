"""Verification of what is served: every ``verify`` endpoint of a certificate against its current version.

``verify_certificates`` is what ``zerossl-tui verify`` and the daemon's hourly check call;
``verify_after_deploy`` is for the order flow right after a deployment: a web server takes a moment to
reload, so endpoints that do not serve the new certificate yet are tried again for a short while.
The last result of each endpoint is kept in ``served.json`` in the data folder (for metrics, notifications
and the dashboard's Served column).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..core.interfaces import CertificateStore
from ..core.models import CertificateSpec
from ..core.served import EndpointCheck
from ..storage.fsutil import atomic_write, ensure_dir, read_bytes_or_none

SERVED_FILE = "served.json"
RELOAD_WAIT = 15.0  # seconds a web server may take to pick up new files after the deploy hook
_RETRY_EVERY = 0.5


def verify_certificates(specs: Iterable[CertificateSpec], store: CertificateStore, *, timeout: float = 5.0
                        ) -> list[EndpointCheck]:
    """One check per endpoint of each certificate (several at once), in the order given."""
    from ..engine.verify import check_endpoint

    jobs = []
    for spec in specs:
        current = store.current(spec.name)
        jobs += [(spec, endpoint, current.cert_pem if current else None) for endpoint in spec.verify]
    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(jobs))) as pool:
        return list(pool.map(lambda j: check_endpoint(j[0].name, j[1], j[0].domains, j[2], timeout), jobs))


def verify_after_deploy(spec: CertificateSpec, store: CertificateStore, *, wait: float = RELOAD_WAIT,
                        cancel: threading.Event | None = None,
                        monotonic: Callable[[], float] = time.monotonic) -> list[EndpointCheck]:
    """Check ``spec``'s endpoints, trying those that are not ok again until ``wait`` seconds have passed
    (or ``cancel`` is set); the last result of each endpoint is returned (and should then be recorded)."""
    cancel = cancel or threading.Event()
    deadline = monotonic() + wait
    results = verify_certificates([spec], store)
    while not all(r.ok for r in results) and monotonic() < deadline and not cancel.wait(_RETRY_EVERY):
        again = {r.endpoint: r for r in verify_certificates([_only(spec, results)], store)}
        results = [again.get(r.endpoint, r) for r in results]
    return results


def _only(spec: CertificateSpec, results: list[EndpointCheck]) -> CertificateSpec:
    from dataclasses import replace

    return replace(spec, verify=tuple(r.endpoint for r in results if not r.ok))


def record_checks(data_dir: Path, checks: Iterable[EndpointCheck], at: str) -> dict[str, Any]:
    """Remember each endpoint's last result in ``served.json`` (the other endpoints are kept); returns all."""
    served = load_checks(data_dir)
    for check in checks:
        served.setdefault(check.name, {})[check.endpoint] = {**asdict(check), "at": at}
    path = ensure_dir(data_dir) / SERVED_FILE
    atomic_write(path, json.dumps(served, indent=2, sort_keys=True).encode() + b"\n", 0o644)
    return served


def load_checks(data_dir: Path) -> dict[str, Any]:
    """``{name: {endpoint: last check as a dict}}`` from ``served.json``; {} when missing or damaged."""
    raw = read_bytes_or_none(Path(data_dir) / SERVED_FILE)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
