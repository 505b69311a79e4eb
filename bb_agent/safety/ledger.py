"""The run ledger: an append-only, hash-chained JSONL record of what the stack decided.

One line per event (requests, verdicts, approvals, outcomes), flushed at once, so a crash
loses at most the event being written. Every record carries

- ``seq``: its number in the chain (0, 1, 2, ... across rotated files);
- ``prev``: the ``hash`` of the record before it (``GENESIS`` for the first);
- ``hash``: SHA-256 over ``prev`` and the record's canonical JSON without ``hash``;
- ``stamp``: what was in force when it was written (e.g. the schema, grammar and config
  hashes the writer passes in).

Editing a line breaks its own hash; removing or reordering lines breaks the next line's
``prev`` or ``seq``. :func:`verify` walks the chain across rotated files and names the first
bad line. Rotation (``max_bytes``) renames the file to ``<name>.<n>`` and the new file goes
on from the old one's last hash, so the chain spans the files. It is tamper-evident, not
tamper-proof: someone who can rewrite the whole file can rewrite the chain too; keep a
copy of the latest hash elsewhere (``bb-agent ledger verify`` prints it) to pin it.
"""

from __future__ import annotations

from dataclasses import dataclass
import hashlib
import json
from pathlib import Path
import re
import threading
import time

GENESIS = '0' * 64


def record_hash(record: dict) -> str:
    """Return the chain hash of ``record`` (its ``prev`` and canonical body, sans ``hash``)."""
    body = json.dumps({k: v for k, v in record.items() if k != 'hash'}, sort_keys=True,
                      separators=(',', ':'), default=str, ensure_ascii=False)
    return hashlib.sha256(f'{record.get("prev", "")}\n{body}'.encode()).hexdigest()


def chain_files(path: Path) -> list[Path]:
    """Return the ledger's files oldest first: ``<name>.<n>`` by n, then ``<name>``."""
    rotated = []
    for p in path.parent.glob(path.name + '.*'):
        m = re.fullmatch(re.escape(path.name) + r'\.(\d+)', p.name)
        if m:
            rotated.append((int(m.group(1)), p))
    return [p for _, p in sorted(rotated)] + ([path] if path.exists() else [])


@dataclass(frozen=True)
class ChainReport:
    """What :func:`verify` found."""

    ok: bool
    records: int
    last_hash: str
    bad: str = ''  # '<file>:<line>: why' of the first bad line


def verify(path: str | Path) -> ChainReport:
    """Walk the chain of ``path`` and its rotated files; stop at the first bad line."""
    prev, seq, count = GENESIS, 0, 0
    for file in chain_files(Path(path)):
        with file.open(encoding='utf-8', errors='replace') as handle:
            for number, line in enumerate(handle, 1):
                where = f'{file}:{number}'
                try:
                    record = json.loads(line)
                except ValueError:
                    return ChainReport(False, count, prev, f'{where}: not JSON')
                if not isinstance(record, dict) or 'hash' not in record:
                    return ChainReport(False, count, prev, f'{where}: not a chained record')
                if record.get('seq') != seq:
                    return ChainReport(False, count, prev, f'{where}: seq {record.get("seq")}'
                                       f' where {seq} was due (a line removed or reordered)')
                if record.get('prev') != prev:
                    return ChainReport(False, count, prev, f'{where}: prev does not match the '
                                       'line before (a line removed, reordered or edited)')
                if record_hash(record) != record['hash']:
                    return ChainReport(False, count, prev, f'{where}: hash does not match '
                                       'its content (the line was edited)')
                prev, seq, count = record['hash'], seq + 1, count + 1
    return ChainReport(True, count, prev)


class Ledger:
    """Appends chained events to ``path`` (its folder is created); thread-safe.

    Args:
        path: the current file; rotated files sit beside it as ``<name>.<n>``.
        on_record: called with each record once it is written (e.g. to publish it).
        stamp: fields every record carries under ``stamp`` (hashes in force).
        max_bytes: rotate before a write would take the file past this size (0: never).
    """

    def __init__(self, path: str | Path, on_record=None, stamp: dict | None = None,
                 max_bytes: int = 0) -> None:
        self.path = Path(path)
        self.on_record = on_record
        self.stamp = dict(stamp or {})
        self.max_bytes = max_bytes
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self._prev, self._seq = self._tail()

    def _tail(self) -> tuple[str, int]:
        """Return (last hash, next seq) to continue the chain from the files on disk."""
        for file in reversed(chain_files(self.path)):
            lines = file.read_text(encoding='utf-8', errors='replace').splitlines()
            for line in reversed(lines):
                try:
                    last = json.loads(line)
                except ValueError:
                    continue  # a torn last line (a crash mid-write): verify reports it
                if isinstance(last, dict) and 'hash' in last and isinstance(last.get('seq'),
                                                                              int):
                    return last['hash'], last['seq'] + 1
        return GENESIS, 0

    def record(self, event: str, **fields) -> dict:
        """Append ``{"t", "event", ...fields, "stamp", "seq", "prev", "hash"}``; return it."""
        with self.lock:
            entry = {'t': round(time.time(), 6), 'event': event, **fields,
                     'stamp': self.stamp, 'seq': self._seq, 'prev': self._prev}
            # hashed as it will be read back (tuples as lists, odd types as strings)
            entry = json.loads(json.dumps(entry, default=str))
            entry['hash'] = record_hash(entry)
            line = json.dumps(entry, sort_keys=True, default=str, ensure_ascii=False) + '\n'
            self._rotate(len(line.encode()))
            with self.path.open('a', encoding='utf-8') as handle:
                handle.write(line)
            self._prev, self._seq = entry['hash'], self._seq + 1
        if self.on_record is not None:
            self.on_record(entry)
        return entry

    def _rotate(self, incoming: int) -> None:
        if not self.max_bytes or not self.path.exists() or \
                self.path.stat().st_size + incoming <= self.max_bytes:
            return
        rotated = chain_files(self.path)[:-1]
        last = int(rotated[-1].name.rsplit('.', 1)[1]) if rotated else 0
        self.path.rename(self.path.with_name(f'{self.path.name}.{last + 1}'))
