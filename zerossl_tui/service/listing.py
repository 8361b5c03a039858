"""The rows of ``list --json``, each kept as text from one run to the next (issue 14: 10,000 in under a
second).

At 10,000 certificates most of ``list --json`` was per-row Python: the certificate's facts from its
meta.json, the renewal policy, the view, the dict and its JSON. A row changes only when what it is made of
changes, so each row's text is kept in the meta index (``list_rows_v1``) under a key naming all of it:
- the ``current`` pointer's and meta.json's stamps (``meta_index.py``: a hand edit, a deletion or another
  process's renewal changes them), taken this run;
- the renewal state's stored text and the newest order's result and error (read from the journal each run);
- the certificate's fields that the row shows (from the settings of this run);
- the code that makes the text (a stamp of the package's modules, and the Python version).
A row also holds only between two moments: its status changes with time alone when ``now`` passes its next
renewal, its last twentieth or its end, so the moments around ``now`` are kept with it and a row read outside
them is made again. Rows whose text does not hold still are never kept: no certificate yet (its next renewal
is "now"), an order running, a damaged file. The files and the journal stay the truth; a row whose key or
moments do not match is computed as ``views()`` computes it, and the index is a cache (deleting it loses
nothing). Only the file store keeps rows; PostgreSQL lists through ``views()``.
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.models import CertificateView, CertStatus
from ..core.policy import emergency_at
from ..storage.journal import Journal
from ..storage.meta_index import MetaIndex, cached_metas, current_stamps
from ..storage.paths import safe_name
from ..storage.state_json import state_from_text
from ..storage.store import CertStore

if TYPE_CHECKING:
    from .service import CertificateService

Encode = Callable[[CertificateView], str]
_CODE_PARTS = ("core", "service", "storage", "cli")  # where a row's text is made


def json_rows(service: CertificateService, encode: Encode) -> tuple[list[str], list[CertificateView]]:
    """Every certificate's row of ``list --json`` as ``encode(view)`` gives it, sorted by name, reusing the
    rows kept from before when they still hold; and the views of rows with a damaged file (for warnings)."""
    store, journal = service.store, service.journal
    if not isinstance(store, CertStore) or not isinstance(journal, Journal) or not code_key():
        views = service.views()
        return [encode(v) for v in views], [v for v in views if v.damage]
    index = MetaIndex(store.data_dir)
    try:
        return _rows(service, store, journal, index, encode)
    finally:
        index.close()


def _rows(service: CertificateService, store: CertStore, journal: Journal, index: MetaIndex,
          encode: Encode) -> tuple[list[str], list[CertificateView]]:
    now = service.clock.now()
    at, code = now.timestamp(), code_key()
    certificates = service.settings.certificates
    names = sorted(certificates)
    states, last, kept = journal.state_texts(), journal.last_results(), index.list_rows()
    stamps = current_stamps(index.versions(), names, *_folders(store))  # the files as they are now
    out: dict[str, str] = {}
    for name in names:
        row = kept.get(name)
        if (row is not None and row[1] <= at < row[2]
                and row[0] == _key(code, stamps.get(name), states.get(name, ""), last.get(name), certificates[name])):
            out[name] = row[3]
    missed = [name for name in names if name not in out]
    damaged = _make(service, store, index, missed, now, (states, last), out, encode) if missed else []
    return [out[name] for name in names], damaged


def _make(service: CertificateService, store: CertStore, index: MetaIndex, names: list[str], now: datetime,
          journal: tuple[dict[str, str], dict[str, tuple[str, str]]], out: dict[str, str], encode: Encode,
          ) -> list[CertificateView]:
    """Make the rows of ``names`` as ``views()`` does, into ``out``, and keep those that hold still;
    ``journal``: the states' texts and the newest orders' (result, error)."""
    (states, last), at, running, code = journal, now.timestamp(), service.running.snapshot(), code_key()
    stamps: dict[str, str] = {}
    metas = cached_metas(index, names, *_folders(store), store.current_meta, stamps)
    fresh: list[tuple[str, str, float, float, str]] = []
    damaged: list[CertificateView] = []
    for name in names:
        spec, state = service.settings.certificates[name], states.get(name, "")
        view = service.view_of(spec, now, state_from_text(state) if state else None, last.get(name),
                               metas.get(name), running)
        out[name] = text = encode(view)
        if view.damage:
            damaged.append(view)
        elif (held := _holds(view, at)) is not None and name in stamps and name not in running:
            # keyed on the stamp the meta was read under (a renewal since the first look gives a new one)
            fresh.append((name, _key(code, stamps[name], state, last.get(name), spec), held[0], held[1], text))
    index.put_list_rows(fresh)
    return damaged


def _folders(store: CertStore) -> tuple[str, Callable[[str], str]]:
    """The certificates folder (with its separator), and each certificate's folder within it."""
    return f"{store.data_dir}{os.sep}certificates{os.sep}", lambda n: f"{safe_name(n, 'certificate')}{os.sep}"


def _key(code: str, stamp: str | None, state: str, outcome: tuple[str, str] | None, spec: Any) -> str:
    """Everything a row is made of, as one string. Separated by NUL, which no field before the error detail
    can hold (stamps, JSON text, validated names); the domains are counted, the detail (a CA's text) last."""
    result, detail = outcome or ("", "")
    domains = spec.domains
    return (f"{code}\0{stamp}\0{state}\0{result}\0{spec.name}\0{spec.provider}\0{spec.challenge}\0{spec.dns}\0"
            f"{len(domains)}\0" + "\0".join(domains) + f"\0{detail}")


def _holds(view: CertificateView, at: float) -> tuple[float, float] | None:
    """(since, until): the POSIX seconds between which the row's text stays what it is at ``at``; None
    when it must be made at each run (no certificate: its next renewal is now; an order running)."""
    info = view.info
    if info is None or view.next_renewal is None or view.status == CertStatus.ISSUING:
        return None
    moments = (view.next_renewal.timestamp(), emergency_at(info).timestamp(), info.not_after.timestamp())
    since = max((m for m in moments if m <= at), default=-math.inf)
    until = min((m for m in moments if m > at), default=math.inf)
    return since, until


_code: list[str] = []


def code_key() -> str:
    """A digest of the modules that make a row (name, modification time and size of each) and of the
    Python version: after an upgrade or an edit of the code no kept row matches. "" when the modules
    cannot be listed (a zipped install): then no row is kept."""
    if not _code:
        digest = hashlib.sha256(sys.version.encode())
        root = Path(__file__).resolve().parent.parent
        try:
            for part in _CODE_PARTS:
                for entry in sorted(os.scandir(root / part), key=lambda e: e.name):
                    if entry.name.endswith(".py"):
                        st = entry.stat()
                        digest.update(f"{part}/{entry.name}:{st.st_mtime_ns}:{st.st_size}\n".encode())
        except OSError:
            _code.append("")
        else:
            _code.append(digest.hexdigest()[:16])
    return _code[0]
