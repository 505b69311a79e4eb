"""The safety monitor's logic: V_s from live state, levels, the STOP latch and reset rules.

Live V_s extends the checker's predicted V_s (:mod:`bb_agent.core.safety_model.vs`) with a joint-limit
term; all terms are dimensionless and 0 is perfectly safe:

    V_s = w_v (v / v_max)^2 + w_f (f / f_max)^2 + w_h (c / d_h)^2 + w_e e + w_j j

- v: end-effector speed (m/s); v_max the schema limit (the near-human limit while a human
  is in the workspace);
- f: contact force (N); f_max the schema limit;
- d_h: distance from the end effector to the nearest human or obstacle (m); c the clearance;
- e: workspace-edge term of the end effector, in [0, 1];
- j: joint-limit term, max over joints of ((margin_0 - m) / margin_0)^2 for a joint within
  ``margin_0`` (rad) of a limit, where m is its distance to the nearer limit.

STOP latches when V_s exceeds the threshold, when V_s rises by more than ``rise_tol``
within one executing step, or when any input is stale or not finite (fail closed). Only
``reset`` clears it, and only while inputs are fresh and V_s is below the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import enum
import math

from bb_agent.core.safety_model.vs import vs_terms
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import Vec3

W_JOINT = 0.8  # weight of the joint-limit term (dimensionless)


class Level(enum.IntEnum):
    """Values equal ``bb_msgs/msg/SafetyStatus`` ``LEVEL_*``."""

    OK = 0
    WARN = 1
    STOP = 2


@dataclass(frozen=True)
class MonitorConfig:
    """Thresholds (parameters of safety_monitor_node)."""

    threshold: float = 1.0  # V_s stop level (dimensionless)
    warn_fraction: float = 0.7  # WARN above this fraction of the threshold
    rise_tol: float = 0.5  # largest V_s rise within one executing step
    stale_s: float = 0.2  # inputs older than this are stale (seconds)
    joint_margin_rad: float = 0.15  # the joint term starts this close to a limit (rad)


@dataclass(frozen=True)
class LiveState:
    """One snapshot of what the monitor reads (SI units, world frame)."""

    stamp: float  # seconds (monotonic clock of the monitor) when the state was measured
    ee_position: Vec3
    ee_speed: float  # m/s
    ee_force: float  # N
    joint_positions: tuple[float, ...] = ()  # rad
    joint_limits: tuple[tuple[float, float], ...] = ()  # (lower, upper) rad per joint
    hazards: tuple[Vec3, ...] = ()  # humans and obstacles in the workspace
    executing_step: str = ''  # node id of the running step ('' when idle)


@dataclass
class Status:
    """What the monitor publishes each tick."""

    v_s: float
    v_s_dot: float
    level: Level
    latched: bool
    reasons: list[str] = field(default_factory=list)
    terms: dict[str, float] = field(default_factory=dict)


def live_terms(state: LiveState, schema: DomainSchema, margin0: float) -> dict[str, float]:
    """Return the V_s terms of ``state`` (see the module docstring)."""
    safety = schema.safety
    v_max = safety.max_speed_near_human_mps if state.hazards else safety.max_speed_mps
    terms = vs_terms(speed=state.ee_speed * safety.max_speed_mps / v_max, force=state.ee_force,
                     target=state.ee_position, humans=list(state.hazards), schema=schema)
    joint = 0.0
    for q, (lo, hi) in zip(state.joint_positions, state.joint_limits, strict=False):
        margin = min(q - lo, hi - q)
        if margin < margin0:
            joint = max(joint, ((margin0 - max(margin, -margin0)) / margin0) ** 2)
    terms['joint'] = W_JOINT * joint
    return terms


class SafetyMonitor:
    """The latch. Call :meth:`tick` at the monitor rate with the newest state (or None)."""

    def __init__(self, schema: DomainSchema, cfg: MonitorConfig = MonitorConfig()) -> None:
        if schema.safety is None:
            raise ValueError(f'domain {schema.domain} has no safety limits to monitor')
        self.schema, self.cfg = schema, cfg
        self.latched, self.latch_reasons = False, []
        self._last: tuple[float, float] | None = None  # (time, V_s)
        self._step: tuple[str, float] | None = None  # (node id, V_s at its start)
        self.seen = False  # whether any state has arrived (start-up is not a fault)
        self.status = Status(math.inf, 0.0, Level.STOP, False, ['no state yet'])

    def tick(self, state: LiveState | None, now: float) -> Status:
        """Evaluate ``state`` at time ``now`` (seconds); return the status to publish."""
        reasons: list[str] = []
        v_s, v_dot, terms = math.inf, 0.0, {}
        self.seen = self.seen or state is not None
        if state is None and not self.seen:
            # Start-up: STOP (nothing may move) but not latched; the first state clears it.
            self.status = Status(math.inf, 0.0, Level.STOP, self.latched,
                                 ['waiting for the first robot/world state'])
            return self.status
        if state is None:
            reasons.append('no robot/world state received')
        elif now - state.stamp > self.cfg.stale_s:
            reasons.append(f'state stale: {now - state.stamp:.2f} s > {self.cfg.stale_s:.2f} s')
        else:
            numbers = (*state.ee_position, state.ee_speed, state.ee_force,
                       *state.joint_positions, *(c for h in state.hazards for c in h))
            if not all(math.isfinite(x) for x in numbers):
                reasons.append('state not finite (NaN or inf)')
            else:
                terms = live_terms(state, self.schema, self.cfg.joint_margin_rad)
                v_s = sum(terms.values())
        if math.isfinite(v_s):
            if self._last is not None and now > self._last[0]:
                v_dot = (v_s - self._last[1]) / (now - self._last[0])
            self._last = (now, v_s)
            reasons += self._check_value(v_s, terms, state)
        else:
            self._last = None
        if reasons and any(not r.startswith('warn') for r in reasons):
            if not self.latched:
                self.latched, self.latch_reasons = True, [r for r in reasons
                                                          if not r.startswith('warn')]
        level = Level.STOP if self.latched else Level.WARN if reasons else Level.OK
        shown = reasons if not self.latched else list(dict.fromkeys(self.latch_reasons +
                                                                    reasons))
        self.status = Status(v_s, v_dot, level, self.latched, shown, terms)
        return self.status

    def _check_value(self, v_s: float, terms: dict, state: LiveState) -> list[str]:
        out = []
        threshold = self.cfg.threshold
        worst = max(terms, key=terms.get) if terms else ''
        if v_s > threshold:
            out.append(f'V_s {v_s:.2f} > threshold {threshold:.2f} (largest term: {worst} '
                       f'{terms.get(worst, 0.0):.2f})')
        elif v_s > self.cfg.warn_fraction * threshold:
            out.append(f'warn: V_s {v_s:.2f} above {self.cfg.warn_fraction:.0%} of the '
                       f'threshold ({worst})')
        step = state.executing_step
        if not step:
            self._step = None
        elif self._step is None or self._step[0] != step:
            self._step = (step, v_s)
        elif v_s - self._step[1] > self.cfg.rise_tol:
            out.append(f'V_s rose {v_s - self._step[1]:.2f} during step {step} '
                       f'(tolerance {self.cfg.rise_tol:.2f})')
        return out

    def reset(self) -> tuple[bool, str]:
        """Clear the latch if inputs are fresh and V_s is below the threshold now."""
        s = self.status
        if not math.isfinite(s.v_s):
            return False, 'refused: no fresh, finite state (' + '; '.join(s.reasons) + ')'
        if s.v_s >= self.cfg.threshold:
            return False, f'refused: V_s {s.v_s:.2f} is not below {self.cfg.threshold:.2f}'
        self.latched, self.latch_reasons = False, []
        self._step = None
        return True, 'STOP cleared'
