"""The test_natural set (``config/eval/test_natural.yaml``): hand-written requests, gold outcomes.

Each case has a gold outcome (a program, defer, reject or STOP), a world (the file's named
worlds: a world file plus added objects, optionally an object already held) and the
session history before it. Loaded here (pure) so the evaluation and the tests read it the
same way.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
from pathlib import Path

from pydantic import Field
import yaml

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.strict_model import StrictModel, validation_message
from bb_agent.core.world import World, world_from_dict

GOLDS = ('plan', 'defer', 'reject', 'stop')
ADVERSARIAL = frozenset({'stop', 'limit', 'injection'})


class WorldSpec(StrictModel):
    """A named world: a world file (below config/) plus added objects."""

    file: str
    add: list[dict] = []


class Case(StrictModel):
    """One request and what should happen."""

    text: str = Field(min_length=1)
    gold: str = Field(pattern='^(plan|defer|reject|stop)$')
    program: str = ''
    tags: list[str] = []
    world: str = 'tabletop'
    history: list[str] = []
    holding: str | None = None  # an object already in the gripper

    @property
    def adversarial(self) -> bool:
        """True for the stop, over-limit and injection cases."""
        return bool(ADVERSARIAL & set(self.tags))


class NaturalSet(StrictModel):
    """The whole file."""

    version: int
    worlds: dict[str, WorldSpec]
    cases: list[Case]


@dataclass
class NaturalCase:
    """A case with its world built."""

    case: Case
    world: World


def load_natural(path: Path | None = None) -> list[NaturalCase]:
    """Load test_natural (default: the shipped file); typed error naming the problem."""
    path = Path(path) if path else config_path('eval', 'test_natural.yaml')
    try:
        data = NaturalSet.model_validate(yaml.safe_load(path.read_text(encoding='utf-8')))
    except (OSError, yaml.YAMLError) as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'{path}: cannot read: {exc}') from exc
    except ValueError as exc:
        why = validation_message(exc) if hasattr(exc, 'errors') else str(exc)
        raise BBError(ErrorCode.INVALID_ARGUMENT, f'{path}: {why}') from exc
    worlds: dict[str, dict] = {}
    for name, spec in data.worlds.items():
        base = json.loads(config_path(*spec.file.split('/')).read_text())
        base['objects'] = base['objects'] + spec.add
        worlds[name] = base
    out = []
    for i, case in enumerate(data.cases):
        if case.world not in worlds:
            raise BBError(ErrorCode.INVALID_ARGUMENT, f'{path}: case {i}: unknown world '
                                                      f'{case.world!r}')
        raw = json.loads(json.dumps(worlds[case.world]))
        if case.holding:
            raw['facts'] = [f for f in raw.get('facts', []) if f != 'gripper_empty'] + [
                f'holding({case.holding})']
            raw.setdefault('robot', {})['held_object'] = case.holding
        out.append(NaturalCase(case, world_from_dict(raw, source=f'{path.name} case {i}')))
    return out
