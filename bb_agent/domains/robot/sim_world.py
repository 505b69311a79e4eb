"""A kinematic tabletop manipulator world: the embedded default robot (no physics).

The arm is a 3-joint (yaw, shoulder, elbow) arm whose end effector moves in straight lines
at the commanded speed; joint angles come from closed-form inverse kinematics, so joint
limits and margins are real. Skills change the world the way the schema's effects say
(pick holds an object, place puts it at a bin, push moves it). Fault injection: a skill
failure rate, dropped objects, stalls and a frozen (stale) state. Thread-safe: skills run
in the executor's threads while the node publishes snapshots.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import random
import threading
import time

from bb_agent.core.execution import SkillResult
from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.safety_model.kinematics import carried, dropped, pushed
from bb_agent.core.schema import load_schema
from bb_agent.core.world import RobotSummary, Vec3, World, WorldObject
from bb_agent.domains.robot.motion import HOME, forward_kinematics, inverse_kinematics

# metres above a target the gripper approaches from: the schema's, so the checker's swept
# path is the path the sim drives
APPROACH_Z = load_schema('robot').safety.approach_z_m
DT = 0.02  # simulation step, seconds
PAUSED_S = 0.5  # a gap this long between two motion steps: the process was paused (a
# loaded 2-core machine delays a step by up to ~0.4 s; a frozen one by much more)


@dataclass(frozen=True)
class Faults:
    """Fault injection (sim_robot_node parameters)."""

    failure_rate: float = 0.0  # chance that a skill attempt fails outright
    drop_rate: float = 0.0  # chance that a held object drops while moving
    stall_rate: float = 0.0  # chance that an attempt stalls (never finishes)
    stale_state: bool = False  # freeze the published state (the monitor must STOP)
    fail_skills: tuple[str, ...] = ()  # these skills always fail (scripted scenarios)


class SimWorld:
    """The simulated robot and its world.

    Args:
        world: the initial world state (objects, bins, facts).
        faults: fault injection.
        time_scale: simulated seconds per wall second (> 1 runs skills faster).
        seed: the fault generator's seed.
    """

    def __init__(self, world: World, *, faults: Faults = Faults(), time_scale: float = 1.0,
                 seed: int = 0) -> None:
        self.lock = threading.RLock()
        self.objects = {o.id: o for o in world.objects}
        self.facts = set(world.facts)
        self.ee: Vec3 = world.robot.ee_position
        self.speed, self.force, self.held = 0.0, 0.0, world.robot.held_object
        self.mode = 'idle'
        self.faults, self.time_scale, self.rng = faults, time_scale, random.Random(seed)
        self.estop = threading.Event()  # the safety monitor's STOP, as the robot sees it
        self.stopped_commands = 0  # how many stop commands arrived (tests, demo)
        self._frozen: World | None = None
        self._following: threading.Event | None = None  # the running joint-trajectory goal
        self.updated = time.monotonic()  # when the state last changed or was measured
        # Called (in the skill's thread, lock held) after every simulation step and skill
        # end: the soundness harness steps the safety monitor along exactly what ran.
        self.observer: Callable[[], None] | None = None

    # --- state -------------------------------------------------------------------------
    def joints(self) -> tuple[float, ...]:
        """Return the joint angles (rad)."""
        return inverse_kinematics(self.ee)

    def snapshot(self) -> World:
        """Return the current world state (frozen when the stale-state fault is on)."""
        with self.lock:
            if self.faults.stale_state and self._frozen is not None:
                return self._frozen
            robot = RobotSummary(ee_position=self.ee, ee_speed=self.speed, ee_force=self.force,
                                 held_object=self.held, mode=self.mode)
            facts = set(self.facts)
            snap = World(objects=tuple(self.objects.values()), robot=robot,
                         facts=frozenset(facts))
            self._frozen = snap
            return snap

    def set_human(self, position: Vec3 | None) -> None:
        """Put a human at ``position`` (metres), or remove every human (None)."""
        with self.lock:
            for oid in [o for o, v in self.objects.items() if v.kind == 'human']:
                del self.objects[oid]
            if position is not None:
                self.objects['human_1'] = WorldObject(id='human_1', kind='human',
                                                      position=position, size=(0.5, 0.5, 1.7))

    def stop(self) -> None:
        """Stop command: halt motion now (the executor sends it on every failure path)."""
        with self.lock:
            self.speed, self.stopped_commands = 0.0, self.stopped_commands + 1
            self.mode = 'stopped'
            if self._following is not None:
                self._following.set()

    # --- joint-trajectory interface (what a ros2_control arm controller accepts) -----------
    def follow_joints(self, goal: tuple[float, ...], duration_s: float) -> threading.Event:
        """Move to joint goal ``goal`` (rad) over ``duration_s``; a new goal preempts this one.

        Runs in its own thread; returns the event that preempts it. STOP refuses and halts
        it, as it does skills.
        """
        cancel = threading.Event()
        with self.lock:
            if self._following is not None:
                self._following.set()
            self._following = cancel
            target = forward_kinematics(goal)
            dist = math.dist(target, self.ee)
        speed = max(0.01, dist / max(duration_s, DT))

        def run():
            self._move(target, speed, float('inf'), cancel)
            with self.lock:
                self.speed = 0.0
                if self._following is cancel:
                    self._following = None
                    self.mode = 'stopped' if self.estop.is_set() else 'idle'

        threading.Thread(target=run, daemon=True).start()
        return cancel

    # --- skills --------------------------------------------------------------------------
    def _position(self, name) -> Vec3 | None:
        if isinstance(name, (list, tuple)) and len(name) == 3:
            return tuple(float(c) for c in name)
        obj = self.objects.get(str(name))
        return obj.position if obj else None

    def _move(self, target: Vec3, speed: float, deadline: float, cancel) -> SkillResult | None:
        """Move the end effector in a straight line; None when it arrived."""
        speed = max(0.01, float(speed))
        last = time.monotonic()
        while True:
            now = time.monotonic()
            if now - last > PAUSED_S:
                # The process was paused (frozen, SIGSTOP'd): what the monitor and the
                # executor saw is stale; stop rather than take one more step on it.
                with self.lock:
                    self.speed = 0.0
                return SkillResult(False, ErrorCode.SKILL_FAILED, f'motion halted: the robot '
                                   f'was paused for {now - last:.2f} s')
            last = now
            if self.estop.is_set():
                return SkillResult(False, ErrorCode.SAFETY_STOP, 'preempted by STOP')
            if cancel.is_set():
                return SkillResult(False, ErrorCode.SKILL_FAILED, 'canceled')
            if time.monotonic() > deadline:
                return SkillResult(False, ErrorCode.SKILL_TIMEOUT, 'motion timed out')
            with self.lock:
                delta = [t - c for t, c in zip(target, self.ee, strict=True)]
                dist = math.sqrt(sum(d * d for d in delta))
                step = speed * DT
                if dist <= step:
                    self.ee, self.speed = target, 0.0
                    self._carry()
                    return None
                self.ee = tuple(c + d * step / dist for c, d in zip(self.ee, delta, strict=True))
                self.speed, self.mode = speed, 'executing'
                self._carry()
                if self.observer is not None:
                    self.observer()
                if self.held and self.rng.random() < self.faults.drop_rate * DT:
                    self._drop()
                    return SkillResult(False, ErrorCode.SKILL_FAILED, 'object dropped')
            time.sleep(DT / self.time_scale)

    def _carry(self) -> None:
        if self.held and self.held in self.objects:
            obj = self.objects[self.held]
            self.objects[self.held] = obj.model_copy(update={'position': carried(self.ee)})

    def _drop(self) -> None:
        obj = self.objects[self.held]
        self.objects[self.held] = obj.model_copy(update={'position': dropped(obj.position,
                                                                             obj.size[2])})
        self.facts.discard(f'holding({self.held})')
        self.facts.add('gripper_empty')
        self.held, self.force = None, 0.0

    def run_skill(self, skill: str, args: dict, timeout_s: float,
                  cancel: threading.Event) -> SkillResult:
        """Run one skill attempt (blocking, at most ``timeout_s`` wall seconds)."""
        deadline = time.monotonic() + timeout_s
        if self.estop.is_set():
            return SkillResult(False, ErrorCode.SAFETY_STOP, 'refused: STOP is latched')
        if skill in self.faults.fail_skills or self.rng.random() < self.faults.failure_rate:
            time.sleep(min(0.2, timeout_s) / self.time_scale)
            return SkillResult(False, ErrorCode.SKILL_FAILED, f'{skill}: injected failure')
        if self.rng.random() < self.faults.stall_rate:
            cancel.wait(max(0.0, deadline - time.monotonic()))
            return SkillResult(False, ErrorCode.SKILL_TIMEOUT, f'{skill}: stalled')
        handler = getattr(self, f'_skill_{skill}', None)
        if handler is None:
            return SkillResult(False, ErrorCode.UNKNOWN_SKILL, f'the sim has no skill {skill!r}')
        with self.lock:
            self.mode = 'executing'
        try:
            result = handler(args, deadline, cancel)
        finally:
            with self.lock:
                self.speed = 0.0
                self.mode = 'stopped' if self.estop.is_set() else 'idle'
                if self.observer is not None:
                    self.observer()
        return result or SkillResult(True)

    def _approach(self, target: Vec3, args, deadline, cancel):
        speed = args.get('speed', 0.2)
        above = (target[0], target[1], target[2] + APPROACH_Z)
        return self._move(above, speed, deadline, cancel) or \
            self._move(target, speed, deadline, cancel)

    def _skill_home(self, args, deadline, cancel):
        return self._move(HOME, args.get('speed', 0.2), deadline, cancel)

    def _skill_move_to(self, args, deadline, cancel):
        target = self._position(args.get('target'))
        if target is None:
            return SkillResult(False, ErrorCode.PRECONDITION_FAILED, 'unknown target')
        return self._move(target, args.get('speed', 0.2), deadline, cancel)

    def _pick(self, args, deadline, cancel, needs: str):
        oid = str(args.get('object'))
        obj = self.objects.get(oid)
        if obj is None or self.held or needs not in self.facts:
            return SkillResult(False, ErrorCode.PRECONDITION_FAILED,
                               f'cannot pick {oid}: missing, hand busy or {needs} false')
        failed = self._approach(obj.position, args, deadline, cancel)
        if failed:
            return failed
        with self.lock:
            self.held = oid
            self.facts.discard('gripper_empty')
            self.facts.add(f'holding({oid})')
            self.force = float(args.get('force', 0.0))  # suction holds without a squeeze
        return SkillResult(True, result={'grasped': oid})

    def _skill_pick(self, args, deadline, cancel):
        return self._pick(args, deadline, cancel, 'gripper_ok')

    def _skill_suction_pick(self, args, deadline, cancel):
        return self._pick(args, deadline, cancel, 'suction_ready')

    def _skill_place(self, args, deadline, cancel):
        oid, target = str(args.get('object')), self._position(args.get('target'))
        if self.held != oid or target is None:
            return SkillResult(False, ErrorCode.PRECONDITION_FAILED, f'not holding {oid}')
        failed = self._approach(target, args, deadline, cancel)
        if failed:
            return failed
        with self.lock:
            self.facts.discard(f'holding({oid})')
            self.facts |= {'gripper_empty', f'at({oid},{args.get("target")})'}
            self.held, self.force = None, 0.0
        return SkillResult(True)

    def _skill_release(self, args, deadline, cancel):
        with self.lock:
            if self.held:
                self._drop()
        return SkillResult(True)

    def _skill_hand_over(self, args, deadline, cancel):
        return self._skill_release(args, deadline, cancel)

    def _skill_push(self, args, deadline, cancel):
        oid = str(args.get('object'))
        obj = self.objects.get(oid)
        if obj is None:
            return SkillResult(False, ErrorCode.PRECONDITION_FAILED, f'unknown object {oid}')
        failed = self._approach(obj.position, args, deadline, cancel)
        if failed:
            return failed
        end = pushed(obj.position, str(args.get('direction')), float(args.get('distance', 0.05)))
        with self.lock:
            self.objects[oid] = obj.model_copy(update={'position': end})
        return SkillResult(True)

    def _pause(self, seconds: float, deadline, cancel):
        end = time.monotonic() + seconds / self.time_scale
        while time.monotonic() < end:
            if self.estop.is_set() or cancel.is_set():
                return SkillResult(False, ErrorCode.SAFETY_STOP if self.estop.is_set()
                                   else ErrorCode.SKILL_FAILED, 'preempted')
            if time.monotonic() > deadline:
                return SkillResult(False, ErrorCode.SKILL_TIMEOUT, 'timed out')
            time.sleep(DT / self.time_scale)
        return None

    def _skill_scan(self, args, deadline, cancel):
        failed = self._pause(1.0, deadline, cancel)
        if not failed:
            with self.lock:
                self.facts.add('scanned')
        return failed

    def _skill_say(self, args, deadline, cancel):
        return self._pause(0.5, deadline, cancel)

    def _skill_wait(self, args, deadline, cancel):
        return self._pause(float(args.get('duration', 1.0)), deadline, cancel)
