"""The checker's soundness, measured: random plans in random worlds, run in the sim robot.

Every plan is checked; every plan the checker approves, and every plan it rejects only
for predicted V_s, runs on :class:`~bb_agent.domains.robot.sim_world.SimWorld` through the
real execution engine while the safety monitor's logic steps along every simulation step
(virtual time, so nothing is stale). The property: **an approved plan never makes the
monitor latch**. A plan rejected only for V_s that runs without a latch is a false
rejection. Used by ``tests/runtime/test_soundness.py`` (hypothesis) and by
``bench/soundness.py`` (>= 10,000 plans).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import random
import threading

from bb_agent.core.check.check_sim import eval_cond
from bb_agent.core.check.checker import check_plan
from bb_agent.core.check.violations import Code
from bb_agent.core.execution import Engine, NodeState, RetryPolicy
from bb_agent.core.safety_model.kinematics import HOME
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import RobotSummary, World, WorldObject
from bb_agent.domains.robot.sim_world import DT, SimWorld
from bb_agent.safety.monitor import LiveState, MonitorConfig, SafetyMonitor

VS_ONLY = frozenset({Code.E_VS_PREDICTED, Code.E_VS_RISE})
OBJECTS = ('red_cup', 'blue_block', 'green_ball')
BINS = ('bin_a', 'bin_b')


@dataclass
class Trial:
    """One plan in one world: the verdict, and what the monitor said when it ran."""

    program: str
    approved: bool
    vs_only_rejection: bool = False
    ran: bool = False  # the plan was dispatched (NOT_RUN outcome: STOP could not be reset)
    latched: bool = False
    reasons: list[str] = field(default_factory=list)
    outcome: str = ''


def random_world(rng: random.Random) -> World:
    """Return a tabletop with objects, bins and 0-2 people and 0-2 obstacles anywhere."""
    def anywhere(z_lo=0.0, z_hi=0.6):
        return (rng.uniform(-0.3, 1.0), rng.uniform(-0.8, 0.8), rng.uniform(z_lo, z_hi))

    def on_table():
        return (rng.uniform(0.15, 0.75), rng.uniform(-0.5, 0.5), rng.uniform(0.02, 0.08))

    objs = [WorldObject(id=o, kind='thing', position=on_table()) for o in OBJECTS]
    objs += [WorldObject(id=b, kind='bin', position=on_table(), size=(0.2, 0.2, 0.1))
             for b in BINS]
    objs += [WorldObject(id=f'human_{i}', kind='human', position=anywhere(0.0, 1.0),
                         size=(0.5, 0.5, 1.7)) for i in range(rng.choice((0, 0, 1, 2)))]
    objs += [WorldObject(id=f'obstacle_{i}', kind='obstacle', position=on_table())
             for i in range(rng.choice((0, 0, 1, 2)))]
    ee = HOME if rng.random() < 0.7 else (rng.uniform(0.2, 0.6), rng.uniform(-0.3, 0.3),
                                          rng.uniform(0.2, 0.5))
    return World(objects=tuple(objs), robot=RobotSummary(ee_position=ee),
                 facts=frozenset({'gripper_empty', 'gripper_ok', 'suction_ready'}))


def _place(rng: random.Random, world: World) -> str:
    if rng.random() < 0.2:  # centimetres: the executor must run what was checked (metres)
        return (f'{{x={rng.uniform(-25, 95):.1f} cm, y={rng.uniform(-65, 65):.1f} cm, '
                f'z={rng.uniform(-2, 80):.1f} cm}}')
    if rng.random() < 0.3:
        return (f'{{x={rng.uniform(-0.25, 0.95):.3f}, y={rng.uniform(-0.65, 0.65):.3f}, '
                f'z={rng.uniform(-0.02, 0.8):.3f}}}')
    return rng.choice([o.id for o in world.objects])


def _speed(rng: random.Random) -> str:
    return f'{rng.choice((0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)):g} m/s'


def _step(rng: random.Random, world: World, n: list[int]) -> str:
    n[0] += 1
    sid, obj = f's{n[0]}', rng.choice(OBJECTS)
    kind = rng.choice(('move_to', 'move_to', 'home', 'pick', 'place', 'push', 'release',
                       'wait', 'scan'))
    if kind == 'move_to':
        call = f'move_to(target={_place(rng, world)}, speed={_speed(rng)})'
    elif kind == 'home':
        call = f'home(speed={_speed(rng)})'
    elif kind == 'pick':
        call = f'pick(object={obj}, speed={_speed(rng)}, force={rng.choice((5, 20, 40))} N)'
    elif kind == 'place':
        call = f'place(object={obj}, target={rng.choice(BINS + OBJECTS)}, speed={_speed(rng)})'
    elif kind == 'push':
        call = (f'push(object={obj}, direction={rng.choice(("left", "right", "forward", "back"))}'
                f', distance={rng.choice((2, 5, 10, 20))} cm, speed={_speed(rng)})')
    elif kind == 'release':
        call = f'release(object={obj})'
    elif kind == 'wait':
        call = f'wait(duration={rng.choice((0.1, 0.5))} s)'
    else:
        call = 'scan(region=table)'
    return f'{sid} = {call};'


def random_program(rng: random.Random, world: World) -> str:
    """Return a random robot program of 1-6 statements (some in if/repeat blocks)."""
    n, lines = [0], []
    for _ in range(rng.randint(1, 6)):
        roll = rng.random()
        if roll < 0.15:
            cond = rng.choice(('human_near', '!human_near', 'gripper_empty',
                               f'holding({rng.choice(OBJECTS)})'))
            body = ' '.join(_step(rng, world, n) for _ in range(rng.randint(1, 2)))
            lines.append(f'if {cond} {{ {body} }}')
        elif roll < 0.22:
            lines.append(f'repeat 2 {{ {_step(rng, world, n)} }}')
        elif roll < 0.28:
            n[0] += 1
            lines.append(f'parallel {{ s{n[0]} = say(text="moving"); {_step(rng, world, n)} }}')
        else:
            lines.append(_step(rng, world, n))
    return '\n'.join(lines)


@dataclass
class SimRun:
    """One plan run in the sim: did the monitor latch, why, the outcome and the V_s peak."""

    latched: bool
    reasons: list[str]
    outcome: str
    vs_peak: float = 0.0  # the highest V_s the monitor saw on any simulation step


def run_in_sim(graph, effective, world: World, schema: DomainSchema) -> SimRun:
    """Run a checked plan in the sim with the monitor stepping every simulation step."""
    sim = SimWorld(world, time_scale=1e9)
    monitor = SafetyMonitor(schema, MonitorConfig(reset_hold_s=0.0))
    lock, clock, step, peak = threading.Lock(), [0.0], [''], [0.0]
    stop = threading.Event()

    def observe():
        with lock:
            snap = sim.snapshot()
            clock[0] += DT  # virtual seconds: one simulation step per observation
            r = snap.robot
            state = LiveState(clock[0], r.ee_position, r.ee_speed, r.ee_force, (),
                              tuple(h.position for h in snap.humans()),
                              tuple(o.position for o in snap.objects if o.kind == 'obstacle'),
                              step[0])
            status = monitor.tick(state, clock[0])
            peak[0] = max(peak[0], status.v_s)
            if status.latched:
                sim.estop.set()
                stop.set()

    def on_status(report):
        with lock:
            step[0] = report.node_id if report.state is NodeState.RUNNING else ''
        observe()  # the monitor sees the step start at rest, as the live one does

    sim.observer = observe
    observe()
    if monitor.latched:  # latched before anything ran: an operator resets (or recovers)
        ok, why = monitor.reset()
        if not ok:
            return SimRun(True, [f'not run: STOP latched before the plan and {why}'],
                          'NOT_RUN', peak[0])
        sim.estop.clear()
        stop.clear()
    engine = Engine(graph, schema, effective,
                    lambda nid, skill, args, timeout, cancel: sim.run_skill(skill, args,
                                                                            timeout, cancel),
                    lambda node: eval_cond(node.cond, sim.snapshot(), schema),
                    policy=RetryPolicy(backoff_s=(0.0,), max_parallel=2),
                    on_status=on_status, stop=stop)
    result = engine.run()
    return SimRun(monitor.latched, list(monitor.latch_reasons), result.outcome.name, peak[0])


def trial(seed: int, schema: DomainSchema, *, run_rejected: bool = True) -> Trial:
    """Check one random plan in one random world (both from ``seed``) and run it if due."""
    rng = random.Random(seed)
    world = random_world(rng)
    program = random_program(rng, world)
    verdict = check_plan(program, schema, world)
    blocking = {v.code for v in verdict.violations if v.blocking}
    out = Trial(program, verdict.approved, bool(blocking) and blocking <= VS_ONLY)
    if verdict.approved or (run_rejected and out.vs_only_rejection):
        from bb_agent.core.check.check_args import check_arguments
        _, effective = check_arguments(verdict.graph, schema, world)
        out.ran = True
        run = run_in_sim(verdict.graph, effective, world, schema)
        out.latched, out.reasons, out.outcome = run.latched, run.reasons, run.outcome
    return out
