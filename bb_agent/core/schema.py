"""Domain plan schemas (``config/domains/<domain>.yaml``): the allowlist of skills.

For every skill the schema declares its arguments (type, unit, range, default, required),
preconditions and effects over the symbolic world state, the resources it locks, its
duration, motion class, timeout and retry policy, safe-pose fallback and substitutes.
The grammar's vocabulary and the checker's rules both come from here.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
import re
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator
import yaml

from bb_agent.core.dsl.units import UNITS
from bb_agent.core.intent.lexicon import Lexicon
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.strict_model import StrictModel, validation_message

DOMAINS = ('robot', 'api_json', 'phone', 'social')  # the shipped schemas, config/domains/
RESERVED_SKILLS = frozenset({'if', 'parallel', 'repeat', 'after'})
# Predicates evaluated from geometry and the object list rather than from symbolic facts.
COMPUTED_PREDICATES = frozenset({'exists', 'reachable', 'in_workspace', 'human_near'})
_TEMPLATE = re.compile(r'^(?P<neg>!)?(?P<name>[a-z_][a-z0-9_]*)(\((?P<args>[^()]*)\))?$')


class ArgSpec(StrictModel):
    """One skill argument."""

    type: Literal['number', 'integer', 'string', 'bool', 'enum', 'object', 'location', 'pose']
    description: str = ''
    unit: str | None = None  # base unit for number/integer (see bb_agent.core.dsl.units)
    range: tuple[float, float] | None = None  # inclusive, in ``unit``
    values: tuple[str, ...] = ()  # enum members
    default: Any = None  # used when absent; for a required argument, what repair fills in
    required: bool = False  # must be written explicitly (the checker reports it missing)
    safety: Literal['speed', 'force'] | None = None  # checked against the safety limits

    @model_validator(mode='after')
    def _consistent(self) -> ArgSpec:
        if self.unit is not None and self.unit not in UNITS:
            raise ValueError(f'unknown unit {self.unit!r}; known: {sorted(UNITS)}')
        if self.type == 'enum' and not self.values:
            raise ValueError('enum argument needs values')
        if self.range and self.range[0] > self.range[1]:
            raise ValueError(f'range {self.range} is empty')
        if self.default is not None and self.type in ('number', 'integer') and self.range:
            if not self.range[0] <= self.default <= self.range[1]:
                raise ValueError(f'default {self.default} outside range {self.range}')
        if self.default is not None and self.type == 'enum' and self.default not in self.values:
            raise ValueError(f'default {self.default!r} not in values {self.values}')
        return self


class Effects(StrictModel):
    """Facts a skill makes true (add) and false (remove), as predicate templates."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


class HttpRoute(StrictModel):
    """How the API bridge calls an api_json endpoint: method and path under its base URL.

    ``{name}`` in the path is the argument ``name`` (URL-quoted); the other arguments go in
    the query string (GET, DELETE) or as the JSON body (POST, PUT, PATCH).
    """

    method: Literal['GET', 'POST', 'PUT', 'PATCH', 'DELETE']
    path: str = Field(pattern=r'^/[A-Za-z0-9_./{}-]*$')


class SkillSpec(StrictModel):
    """One skill of the allowlist."""

    description: str
    args: dict[str, ArgSpec] = {}
    preconditions: tuple[str, ...] = ()  # templates over arg names, e.g. "reachable(object)"
    effects: Effects = Effects()
    resources: tuple[str, ...] = ()
    duration_s: float = Field(gt=0)  # estimated duration, seconds
    motion: Literal['none', 'gripper', 'arm', 'base', 'speech', 'io'] = 'none'
    timeout_s: float = Field(gt=0)  # default per-attempt timeout, seconds
    max_timeout_s: float = Field(gt=0)
    retries: int = Field(0, ge=0)
    max_retries: int = Field(3, ge=0)
    safe_pose: str | None = None  # skill run as fallback when this one fails
    substitutes: tuple[str, ...] = ()  # functionally equivalent skills, in preference order
    returns: dict[str, Literal['pose', 'object', 'number', 'string', 'bool']] = {}
    # Where the arm goes (the robot safety model sweeps it): none (it stays), home (the
    # arm's home pose), direct (a straight line to ``path_arg``), approach (above
    # ``path_arg`` by the schema's approach height, then straight down onto it).
    path: Literal['none', 'home', 'direct', 'approach'] = 'none'
    path_arg: str | None = None  # the location/object argument the path goes to
    pushes: bool = False  # moves its ``object`` by ``distance`` along ``direction``
    duration_arg: str | None = None  # a time argument (s) that is the step's own duration
    operator: bool = False  # needs an operator's approval bound to the plan (executor too)
    http: HttpRoute | None = None  # api_json endpoints: the HTTP call the bridge makes

    @property
    def moves(self) -> bool:
        """True when the skill moves something physical (arm, base or gripper)."""
        return self.motion in ('arm', 'base', 'gripper')


class Box(StrictModel):
    """Axis-aligned box in metres, world frame."""

    x: tuple[float, float]
    y: tuple[float, float]
    z: tuple[float, float]


class SafetySpec(StrictModel):
    """Hard safety limits; repair never relaxes them."""

    workspace: Box
    base: tuple[float, float, float] = (0.0, 0.0, 0.0)  # robot base position, metres
    reach_m: float = Field(gt=0)  # arm reach from the base, metres
    max_speed_mps: float = Field(gt=0)
    max_speed_near_human_mps: float = Field(gt=0)
    max_force_n: float = Field(gt=0)
    human_clearance_m: float = Field(gt=0)  # closer than this to a human is unsafe, metres
    vs_threshold: float = Field(gt=0)  # predicted V_s above this rejects the plan
    # (a, b): b may not be the next motion step after a on any path (steps that move
    # nothing, and branch decisions, do not separate them).
    forbidden_sequences: tuple[tuple[str, str], ...] = ()
    obstacle_clearance_m: float = Field(0.10, gt=0)  # closer than this to an obstacle, metres
    vs_rise_tol: float = Field(0.5, ge=0)  # largest rise of the hazard terms within one step
    joint_margin_rad: float = Field(0.15, ge=0)  # the joint term starts this close to a limit
    path_step_m: float = Field(0.005, gt=0, le=0.05)  # swept-path sampling step, metres
    approach_z_m: float = Field(0.12, ge=0)  # height above a target an approach comes from, m


class DomainSchema(StrictModel):
    """A domain's plan schema."""

    domain: str
    version: int = Field(ge=1)
    grammar: str
    description: str = ''
    budget_s: float = Field(gt=0)  # default plan duration budget, seconds
    max_repeat: int = Field(ge=1)
    max_nodes: int = Field(ge=1)
    resources: tuple[str, ...] = ()
    predicates: dict[str, tuple[Literal['object', 'location', 'any'], ...]] = {}
    safe_pose: str | None = None  # domain-wide fallback skill
    default_world: str | None = None  # world-state JSON below config/, used when none is given
    safety: SafetySpec | None = None
    skills: dict[str, SkillSpec]
    lexicon: Lexicon | None = None  # how requests name skills and objects (core/intent)

    @model_validator(mode='after')
    def _cross_references(self) -> DomainSchema:
        for name, skill in self.skills.items():
            if name in RESERVED_SKILLS or not re.fullmatch(r'[a-z_][a-z0-9_]*', name):
                raise ValueError(f'skills.{name}: reserved or malformed skill name')
            for res in skill.resources:
                if res not in self.resources:
                    raise ValueError(f'skills.{name}.resources: unknown resource {res!r}')
            for field, arg in (('path_arg', skill.path_arg),
                               ('duration_arg', skill.duration_arg)):
                if arg is not None and arg not in skill.args:
                    raise ValueError(f'skills.{name}.{field}: unknown argument {arg!r}')
            if skill.path in ('direct', 'approach') and skill.path_arg is None:
                raise ValueError(f'skills.{name}: path {skill.path!r} needs path_arg')
            if self.grammar == 'api_json' and skill.http is None:
                raise ValueError(f'skills.{name}: an api_json endpoint needs http (method, path)')
            for arg in re.findall(r'{([^}]*)}', skill.http.path if skill.http else ''):
                if not skill.args.get(arg) or not skill.args[arg].required:
                    raise ValueError(f'skills.{name}.http.path: {{{arg}}} must be a required '
                                     'argument')
            if skill.pushes and not {'object', 'direction', 'distance'} <= set(skill.args):
                raise ValueError(f'skills.{name}: pushes needs object, direction, distance')
            for ref in (*skill.substitutes, *(s for s in [skill.safe_pose] if s)):
                if ref not in self.skills:
                    raise ValueError(f'skills.{name}: unknown skill {ref!r} referenced')
            for where, templates in (('preconditions', skill.preconditions),
                                     ('effects.add', skill.effects.add),
                                     ('effects.remove', skill.effects.remove)):
                for text in templates:
                    try:
                        neg, pred, args = parse_template(text)
                    except ValueError as exc:
                        raise ValueError(f'skills.{name}.{where}: {exc}') from None
                    if pred not in self.predicates and pred not in COMPUTED_PREDICATES:
                        raise ValueError(f'skills.{name}.{where}: unknown predicate {pred!r}')
                    if where != 'preconditions' and (neg or pred in COMPUTED_PREDICATES):
                        raise ValueError(f'skills.{name}.{where}: {text!r} cannot be an effect')
                    for arg in args:
                        if arg not in skill.args:
                            raise ValueError(f'skills.{name}.{where}: {text!r} uses unknown '
                                             f'argument {arg!r}')
        for name, words in (self.lexicon.skills if self.lexicon else {}).items():
            for ref in (name, *words.needs):
                if ref not in self.skills:
                    raise ValueError(f'lexicon.skills.{name}: unknown skill {ref!r}')
        if self.safe_pose and self.safe_pose not in self.skills:
            raise ValueError(f'safe_pose: unknown skill {self.safe_pose!r}')
        return self

    @functools.cached_property
    def sha256(self) -> str:
        """Hex digest of the schema's canonical JSON (formatting-independent)."""
        text = json.dumps(self.model_dump(mode='json'), sort_keys=True, separators=(',', ':'))
        return hashlib.sha256(text.encode()).hexdigest()

    def enum_values(self) -> list[str]:
        """Return every enum member any skill argument declares (symbols besides ids)."""
        return sorted({v for s in self.skills.values() for a in s.args.values()
                       for v in a.values})

    def vocabulary(self) -> dict[str, list[str]]:
        """Return the grammar @vocab word lists: skills, args and predicates."""
        args = sorted({a for s in self.skills.values() for a in s.args})
        preds = sorted(set(self.predicates) | COMPUTED_PREDICATES)
        return {'skills': sorted(self.skills), 'args': args, 'predicates': preds}


@functools.lru_cache(maxsize=1024)
def parse_template(text: str) -> tuple[bool, str, tuple[str, ...]]:
    """Split a predicate template ``[!]name[(a, b)]`` into (negated, name, args)."""
    match = _TEMPLATE.fullmatch(text.replace(' ', ''))
    if not match:
        raise ValueError(f'malformed predicate template {text!r}')
    args = tuple(a for a in (match.group('args') or '').split(',') if a)
    return bool(match.group('neg')), match.group('name'), args


def schema_from_file(path: Path) -> DomainSchema:
    """Load and validate one schema file.

    Raises:
        BBError: INVALID_REQUEST naming the file and the offending key.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
    except (OSError, yaml.YAMLError) as exc:
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: cannot read schema: {exc}') from exc
    try:
        return DomainSchema.model_validate(data)
    except ValidationError as exc:
        where = validation_message(exc)
        raise BBError(ErrorCode.INVALID_REQUEST, f'{path}: {where}') from exc


@functools.lru_cache(maxsize=16)
def load_schema(domain: str) -> DomainSchema:
    """Load ``config/domains/<domain>.yaml``.

    Raises:
        BBError: UNKNOWN_DOMAIN when there is no such file; INVALID_REQUEST when it is invalid.
    """
    if not re.fullmatch(r'[a-z_][a-z0-9_]*', domain or ''):
        raise BBError(ErrorCode.UNKNOWN_DOMAIN, f'malformed domain name {domain!r}')
    try:
        path = config_path('domains', f'{domain}.yaml')
    except FileNotFoundError as exc:
        raise BBError(ErrorCode.UNKNOWN_DOMAIN, f'no schema for domain {domain!r}') from exc
    schema = schema_from_file(path)
    if schema.domain != domain:
        raise BBError(ErrorCode.INVALID_REQUEST,
                      f'{path}: domain: {schema.domain!r} does not match the file name')
    return schema
