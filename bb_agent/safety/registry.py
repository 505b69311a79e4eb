"""The model registry: every model that was ever active is kept, so rollback is one call.

``ROOT/registry.json`` holds the activation stack: its first entry is the configured model
(the builder's ``model_path``, or the shipped default), each promotion pushes the promoted
model, and a rollback pops back to the model that was active before. A promoted candidate
is copied into ``ROOT/<id>/`` first, so deleting or retraining the candidate folder later
cannot change what is served or what a rollback returns to. A model's id is the sha256 of
its weights and config (:func:`model_id`). Writes are atomic (write, then rename).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
import hashlib
import json
import os
from pathlib import Path
import shutil
import time

from bb_agent.core.outcomes import BBError, ErrorCode

ID_FILES = ('model.safetensors', 'config.json')  # what makes a model this model
FILE = 'registry.json'


def files_sha256(folder: Path, names) -> str:
    """Return one sha256 over the named files of ``folder`` (name, then bytes, in order)."""
    h = hashlib.sha256()
    for name in names:
        h.update(name.encode() + b'\0')
        with open(Path(folder) / name, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
    return h.hexdigest()


def model_id(folder: Path) -> str:
    """Return the model's id: the sha256 of its weights and config (typed error if absent)."""
    try:
        return files_sha256(folder, ID_FILES)
    except OSError as exc:
        raise BBError(ErrorCode.MODEL_UNAVAILABLE, f'checkpoint {folder}: {exc}') from exc


def default_root() -> Path:
    """Return ``$XDG_DATA_HOME/bb_agent/models`` (``~/.local/share/bb_agent/models``)."""
    base = os.environ.get('XDG_DATA_HOME') or os.path.expanduser('~/.local/share')
    return Path(base) / 'bb_agent' / 'models'


@dataclass(frozen=True)
class Entry:
    """One activation: which model, from where, when and why."""

    id: str
    folder: str  # what is served: the configured folder, or the registry's copy
    source: str  # where it came from (the candidate path as given)
    t: float
    reason: str


class ModelRegistry:
    """See the module docstring. Not thread-safe: the builder calls it under its swap lock."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.note = ''  # what was wrong with the registry file, if anything
        self.stack: list[Entry] = self._read()

    def _read(self) -> list[Entry]:
        path = self.root / FILE
        if not path.exists():
            return []
        try:
            return [Entry(**e) for e in json.loads(path.read_text())['stack']]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # Kept aside, never lost; the builder then starts from its configured model.
            bad = path.with_name(f'{FILE}.bad-{int(time.time())}')
            path.replace(bad)
            self.note = f'{path}: unreadable ({exc}); moved to {bad.name}, starting anew'
            return []

    def _write(self) -> None:
        tmp = self.root / f'{FILE}.tmp'
        tmp.write_text(json.dumps({'stack': [asdict(e) for e in self.stack]}, indent=1))
        tmp.replace(self.root / FILE)

    @property
    def active(self) -> Entry | None:
        """Return the model in force, or None before :meth:`start`."""
        return self.stack[-1] if self.stack else None

    @property
    def previous(self) -> Entry | None:
        """Return the model a rollback would return to, or None."""
        return self.stack[-2] if len(self.stack) > 1 else None

    def start(self, configured: Path) -> Entry:
        """Begin from the configured model: keep the stack if it starts there, else reset.

        A builder restarted with the same ``model_path`` serves what was promoted before; a
        builder configured with another model starts a new stack from it.
        """
        mid = model_id(configured)
        if not self.stack or self.stack[0].id != mid:
            self.stack = [Entry(mid, str(configured), str(configured), time.time(),
                                'configured')]
            self._write()
        return self.active

    def push(self, candidate: Path, reason: str) -> Entry:
        """Copy ``candidate`` into the registry and make it the active model."""
        mid = model_id(candidate)
        keep = self.root / mid[:16]
        if not keep.exists():
            tmp = self.root / f'.{mid[:16]}.tmp'
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(candidate, tmp)
            tmp.replace(keep)
        if model_id(keep) != mid:
            raise BBError(ErrorCode.MODEL_UNAVAILABLE, f'registry copy {keep} does not match '
                                                       'the candidate (changed during the copy?)')
        self.stack.append(Entry(mid, str(keep), str(candidate), time.time(), reason))
        self._write()
        return self.active

    def reinstate(self, entry: Entry) -> None:
        """Put back an entry that :meth:`pop` removed (its rollback could not load)."""
        self.stack.append(entry)
        self._write()

    def pop(self) -> tuple[Entry, Entry]:
        """Roll back: return (the model left, the model now active); typed error if none."""
        if len(self.stack) < 2:
            raise BBError(ErrorCode.INVALID_ARGUMENT, 'nothing to roll back to: the '
                                                      'configured model is active')
        left = self.stack.pop()
        self._write()
        return left, self.active
