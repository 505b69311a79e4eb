"""The generic trace format: a folder of JSONL splits plus a grammar.

``train.jsonl``, ``val.jsonl`` and ``test*.jsonl`` hold one object per line::

    {"input": "...", "output": "...", "context": "...", "graph": {"nodes": [...],
     "edges": [[i, j], ...]}}

``context`` and ``graph`` are optional (``graph.edges`` are (node, dependency) index
pairs). Anything else on a line is kept but ignored. Bad input is a typed error that names
the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import hashlib
import json
from pathlib import Path

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.prompting import prompt_text

REQUIRED_SPLITS = ('train', 'val')
MAX_FIELD = 100_000  # characters per input/output; longer lines are refused


@dataclass(frozen=True)
class Trace:
    """One example."""

    input: str
    output: str
    context: str = ''
    graph: dict | None = None
    world: dict | None = None  # the world state the output was checked in (robot data)

    def prompt(self) -> str:
        """Return the text the model is conditioned on."""
        return prompt_text(self.input, self.context)


@dataclass
class TraceSet:
    """All splits of a data set."""

    folder: Path
    splits: dict[str, list[Trace]] = field(default_factory=dict)

    def tests(self) -> list[str]:
        """Return the test split names (``test*``)."""
        return sorted(s for s in self.splits if s.startswith('test'))


def _bad(path: Path, line: int, why: str) -> BBError:
    return BBError(ErrorCode.INVALID_ARGUMENT, f'{path}:{line}: {why}')


def parse_trace(raw: str, path: Path, line: int) -> Trace:
    """Parse one JSONL line."""
    try:
        row = json.loads(raw)
    except ValueError as exc:
        raise _bad(path, line, f'not JSON ({exc})') from exc
    if not isinstance(row, dict):
        raise _bad(path, line, 'each line must be a JSON object')
    for key in ('input', 'output'):
        if not isinstance(row.get(key), str) or not row[key]:
            raise _bad(path, line, f'"{key}" must be a non-empty string')
        if len(row[key]) > MAX_FIELD:
            raise _bad(path, line, f'"{key}" longer than {MAX_FIELD} characters')
    context = row.get('context', '')
    if not isinstance(context, str):
        raise _bad(path, line, '"context" must be a string')
    graph = row.get('graph')
    if graph is not None:
        nodes = graph.get('nodes') if isinstance(graph, dict) else None
        edges = graph.get('edges') if isinstance(graph, dict) else None
        if not isinstance(nodes, list) or not isinstance(edges, list) or not all(
                isinstance(e, list) and len(e) == 2 and all(isinstance(i, int) and
                                                            0 <= i < len(nodes) for i in e)
                for e in edges):
            raise _bad(path, line, '"graph" needs "nodes" (list) and "edges" ([i, j] indexes)')
    world = row.get('world')
    if world is not None and not isinstance(world, dict):
        raise _bad(path, line, '"world" must be an object')
    return Trace(row['input'], row['output'], context, graph, world)


def load_traces(folder: str | Path) -> TraceSet:
    """Load every split in ``folder``; ``train`` and ``val`` must exist and be non-empty."""
    folder = Path(folder)
    if not folder.is_dir():
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'data folder {folder} does not exist')
    traces = TraceSet(folder)
    for path in sorted(folder.glob('*.jsonl')):
        if not path.stem.startswith(('train', 'val', 'test')):
            continue
        with path.open(encoding='utf-8') as handle:
            traces.splits[path.stem] = [parse_trace(raw, path, n)
                                        for n, raw in enumerate(handle, 1) if raw.strip()]
    for name in REQUIRED_SPLITS:
        if not traces.splits.get(name):
            raise BBError(ErrorCode.INVALID_ARGUMENT,
                          f'{folder}: {name}.jsonl is missing or empty')
    return traces


def write_split(folder: Path, name: str, rows: list[dict]) -> str:
    """Write ``<name>.jsonl``; return its SHA-256."""
    text = ''.join(json.dumps(r, sort_keys=True) + '\n' for r in rows)
    (folder / f'{name}.jsonl').write_text(text, encoding='utf-8')
    return hashlib.sha256(text.encode()).hexdigest()
