"""The safety monitor's logic: V_s from live state, levels, the STOP latch and reset rules.

Live V_s is the robot safety model's (:mod:`bb_agent.core.safety_model.vs`), the same
function the plan checker predicts along swept paths, over the measured end-effector
position, speed, force and joint angles and the people and obstacles in the state. The stop
level, the rise tolerance and the joint margin are the schema's (one place for each number).

STOP latches when V_s exceeds the threshold, when the hazard part of V_s (all but the speed
term) rises by more than ``vs_rise_tol`` within one executing step, or when any input is
stale or not finite (fail closed). Only ``reset`` clears it, and only after ``reset_hold_s``
of consecutive fresh, finite states below the threshold: one sample proves nothing.

Recovery: when V_s stays above the threshold because of the robot's own state (a joint or
edge term; no person or obstacle near, :func:`~bb_agent.core.safety_model.vs.recoverable`),
a reset after the same hold clears STOP *for recovery*: from then on the hazard part of V_s
may only fall (any rise latches STOP again), and normal rules return at the first step
boundary with V_s below the threshold. The plan checker applies the same rule, so only
plans that lower V_s are approved from such a pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import enum
import math

from bb_agent.core.safety_model.vs import Hazards, hazard_part, recoverable, vs_terms
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import Vec3


class Level(enum.IntEnum):
    """Values equal ``bb_msgs/msg/SafetyStatus`` ``LEVEL_*``."""

    OK = 0
    WARN = 1
    STOP = 2


@dataclass(frozen=True)
class MonitorConfig:
    """Monitor settings (parameters of safety_monitor_node); V_s limits are the schema's."""

    warn_fraction: float = 0.7  # WARN above this fraction of the threshold
    stale_s: float = 0.2  # inputs older than this are stale (seconds)
    # Staleness must persist this long before it latches: a monitor starved by a loaded CPU
    # wakes with ticks due before the states queued meanwhile are read, and those ticks
    # alone would see an old state (seconds). A source that is really silent latches at
    # stale_s + stale_confirm_s (0.25 s by default).
    stale_confirm_s: float = 0.05
    reset_hold_s: float = 1.0  # a reset needs this long of fresh states below the threshold


@dataclass(frozen=True)
class LiveState:
    """One snapshot of what the monitor reads (SI units, world frame)."""

    stamp: float  # seconds (monotonic clock of the monitor) when the state was measured
    ee_position: Vec3
    ee_speed: float  # m/s
    ee_force: float  # N
    joint_positions: tuple[float, ...] = ()  # rad (yaw, shoulder, elbow); empty: from IK
    humans: tuple[Vec3, ...] = ()  # people, wherever they are (m)
    obstacles: tuple[Vec3, ...] = ()  # obstacles (m)
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


def live_terms(state: LiveState, schema: DomainSchema) -> dict[str, float]:
    """Return the V_s terms of ``state`` (the safety model's, on measured values)."""
    hazards = Hazards(state.humans, state.obstacles, bool(state.humans))
    joints = state.joint_positions if len(state.joint_positions) == 3 else None
    return vs_terms(position=state.ee_position, speed=state.ee_speed, force=state.ee_force,
                    hazards=hazards, safety=schema.safety, joints=joints)


class SafetyMonitor:
    """The latch. Call :meth:`tick` at the monitor rate with the newest state (or None)."""

    def __init__(self, schema: DomainSchema, cfg: MonitorConfig = MonitorConfig()) -> None:
        if schema.safety is None:
            raise ValueError(f'domain {schema.domain} has no safety limits to monitor')
        self.schema, self.cfg = schema, cfg
        self.threshold = schema.safety.vs_threshold  # V_s stop level (dimensionless)
        self.rise_tol = schema.safety.vs_rise_tol  # largest hazard-part rise within a step
        self._fine_since: float | None = None  # since when every state was fresh and below
        self._fresh_since: float | None = None  # since when every state was fresh and finite
        self.recovery: tuple[float, str] | None = None  # (hazard ceiling, step) in recovery
        self.latched, self.latch_reasons = False, []
        self._last: tuple[float, float] | None = None  # (time, V_s)
        self._step: tuple[str, float] | None = None  # (node id, V_s at its start)
        self.seen = False  # whether any state has arrived (start-up is not a fault)
        self._now = 0.0  # time of the latest tick (seconds)
        self._stale_since: float | None = None  # first tick of the current stale run
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
        stale = state is not None and now - state.stamp > self.cfg.stale_s
        if not stale:
            self._stale_since = None
        if state is None:
            reasons.append('no robot/world state received')
        elif stale and self._stale_for(now) >= self.cfg.stale_confirm_s:
            reasons.append(f'state stale: {now - state.stamp:.2f} s > {self.cfg.stale_s:.2f} s')
        else:
            if stale:  # judged on the last state meanwhile
                reasons.append(f'warn: state {now - state.stamp:.2f} s old (confirming)')
            numbers = (*state.ee_position, state.ee_speed, state.ee_force,
                       *state.joint_positions,
                       *(c for h in state.humans + state.obstacles for c in h))
            if not all(math.isfinite(x) for x in numbers):
                reasons.append('state not finite (NaN or inf)')
            else:
                terms = live_terms(state, self.schema)
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
        fine = math.isfinite(v_s) and v_s < self.threshold and not any(
            not r.startswith('warn') for r in reasons)
        if not fine:
            self._fine_since = None
        elif self._fine_since is None:
            self._fine_since = now
        if not (math.isfinite(v_s) and recoverable(terms)):
            self._fresh_since = None
        elif self._fresh_since is None:
            self._fresh_since = now
        self._now = now
        level = Level.STOP if self.latched else Level.WARN if reasons else Level.OK
        shown = reasons if not self.latched else list(dict.fromkeys(self.latch_reasons +
                                                                    reasons))
        self.status = Status(v_s, v_dot, level, self.latched, shown, terms)
        return self.status

    def _stale_for(self, now: float) -> float:
        """Return how long (s) consecutive ticks have seen a stale state, this one included."""
        if self._stale_since is None:
            self._stale_since = now
        return now - self._stale_since

    def _check_value(self, v_s: float, terms: dict, state: LiveState) -> list[str]:
        out = []
        threshold = self.threshold
        worst = max(terms, key=terms.get) if terms else ''
        if self.recovery is not None:
            return out + self._check_recovery(v_s, terms, state)
        if v_s > threshold:
            out.append(f'V_s {v_s:.2f} > threshold {threshold:.2f} (largest term: {worst} '
                       f'{terms.get(worst, 0.0):.2f})')
        elif v_s > self.cfg.warn_fraction * threshold:
            out.append(f'warn: V_s {v_s:.2f} above {self.cfg.warn_fraction:.0%} of the '
                       f'threshold ({worst})')
        step, hazard = state.executing_step, hazard_part(terms)
        if not step:
            self._step = None
        elif self._step is None or self._step[0] != step:
            self._step = (step, hazard)
        elif hazard - self._step[1] > self.rise_tol:
            out.append(f'V_s (hazard terms) rose {hazard - self._step[1]:.2f} during step '
                       f'{step} (tolerance {self.rise_tol:.2f})')
        return out

    def _check_recovery(self, v_s: float, terms: dict, state: LiveState) -> list[str]:
        ceiling, step = self.recovery
        hazard = hazard_part(terms)
        if hazard > ceiling + 1e-6 or not recoverable(terms):
            self.recovery = None
            return [f'recovery: V_s (hazard terms) rose to {hazard:.2f} above {ceiling:.2f}; '
                    'only motions that lower V_s are allowed']
        if v_s < self.threshold and state.executing_step != step:
            self.recovery = None  # recovered, at a step boundary: normal rules again
            return []
        self.recovery = (min(ceiling, hazard), state.executing_step)
        return [f'warn: recovering from V_s {v_s:.2f}: only motions that lower V_s']

    def request_stop(self, reason: str) -> Status:
        """Latch STOP now for ``reason`` (a request to stop; the STOP button).

        It clears like any latch: a reset after ``reset_hold_s`` of fresh safe states,
        counted from this moment. Return the status to publish.
        """
        self.latched, self.recovery, self._fine_since = True, None, None
        self.latch_reasons = list(dict.fromkeys(self.latch_reasons + [reason]))
        self.status = Status(self.status.v_s, self.status.v_s_dot, Level.STOP, True,
                             list(dict.fromkeys(self.latch_reasons + self.status.reasons)),
                             self.status.terms)
        return self.status

    def reset(self) -> tuple[bool, str]:
        """Clear the latch after ``reset_hold_s`` of fresh, finite states below the threshold.

        Every state in that window counts: one harmless-looking sample among unsafe ones
        restarts the wait, so a reset reflects what the robot's state source keeps saying.
        """
        s = self.status
        if not math.isfinite(s.v_s):
            return False, 'refused: no fresh, finite state (' + '; '.join(s.reasons) + ')'
        if s.v_s >= self.threshold:
            return self._reset_for_recovery(s)
        held = 0.0 if self._fine_since is None else self._now - self._fine_since
        if held < self.cfg.reset_hold_s:
            return False, (f'refused: V_s has been below {self.threshold:.2f} with fresh '
                           f'states for {held:.2f} s; a reset needs {self.cfg.reset_hold_s:g} '
                           's in a row')
        self.latched, self.latch_reasons = False, []
        self._step = None
        return True, 'STOP cleared'

    def _reset_for_recovery(self, s: Status) -> tuple[bool, str]:
        """Clear STOP for recovery when V_s is high from the robot's own state (see above)."""
        if not recoverable(s.terms):
            return False, (f'refused: V_s {s.v_s:.2f} is not below {self.threshold:.2f}, and a '
                           'person or obstacle is near (no recovery while they are)')
        held = 0.0 if self._fresh_since is None else self._now - self._fresh_since
        if held < self.cfg.reset_hold_s:
            return False, (f'refused: fresh states for {held:.2f} s; a recovery reset needs '
                           f'{self.cfg.reset_hold_s:g} s in a row')
        self.latched, self.latch_reasons, self._step = False, [], None
        self.recovery = (hazard_part(s.terms), '')
        return True, (f'STOP cleared for recovery: V_s {s.v_s:.2f} is above '
                      f"{self.threshold:.2f} from the robot's own pose; only motions that "
                      'lower V_s are allowed until it is below')
