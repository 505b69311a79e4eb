"""Conversions between bb_msgs messages and the pure core types (World, Verdict, plans)."""

from __future__ import annotations

import json

from geometry_msgs.msg import Point, Pose, Vector3

from bb_agent.core.check.checker import Verdict
from bb_agent.core.check.plan_graph import format_guard
from bb_agent.core.execution import plain
from bb_agent.core.outcomes import BBError
from bb_agent.core.world import World, world_from_dict
from bb_msgs.msg import (
    Argument,
    CheckVerdict,
    PlanGraph,
    PlanNode,
    RobotStateSummary,
    Violation,
    WorldObject,
    WorldState,
)


def _pose(p) -> Pose:
    pose = Pose()
    pose.position = Point(x=float(p[0]), y=float(p[1]), z=float(p[2]))
    pose.orientation.w = 1.0
    return pose


def world_to_msg(world: World, stamp, joints: dict[str, float] | None = None) -> WorldState:
    """Return ``world`` as a WorldState (frame ``world``); ``joints`` name -> rad."""
    msg = WorldState()
    msg.header.stamp, msg.header.frame_id = stamp, world.frame
    for o in world.objects:
        msg.objects.append(WorldObject(
            id=o.id, kind=o.kind, pose=_pose(o.position),
            size=Vector3(x=float(o.size[0]), y=float(o.size[1]), z=float(o.size[2])),
            attributes=[Argument(name=k, value_json=json.dumps(v))
                        for k, v in sorted(o.attributes.items())]))
    r = world.robot
    msg.robot = RobotStateSummary(end_effector=_pose(r.ee_position), ee_speed=float(r.ee_speed),
                                  ee_force=float(r.ee_force), held_object=r.held_object or '',
                                  mode=r.mode)
    if joints:
        msg.robot.joint_names = list(joints)
        msg.robot.joint_positions = [float(v) for v in joints.values()]
        msg.robot.joint_velocities = [0.0] * len(joints)
    msg.facts = sorted(world.facts)
    return msg


def msg_to_world(msg: WorldState) -> World:
    """Return the core World of a WorldState (typed error on bad content)."""
    def xyz(p):
        return [p.x, p.y, p.z]
    objects = [{'id': o.id, 'kind': o.kind, 'position': xyz(o.pose.position),
                'size': xyz(o.size),
                'attributes': {a.name: json.loads(a.value_json) for a in o.attributes}}
               for o in msg.objects]
    r = msg.robot
    robot = {'ee_position': xyz(r.end_effector.position), 'ee_speed': r.ee_speed,
             'ee_force': r.ee_force, 'held_object': r.held_object or None,
             'mode': r.mode or 'idle'}
    return world_from_dict({'frame': msg.header.frame_id or 'world', 'objects': objects,
                            'robot': robot, 'facts': list(msg.facts)}, source='WorldState')


def world_or_none(msg: WorldState) -> World | None:
    """Return the World of a live WorldState, or None when it is malformed (dropped)."""
    try:
        return msg_to_world(msg)
    except (ValueError, BBError):  # BBError: the World's own validation (ids, facts)
        return None


def verdict_to_msg(verdict: Verdict, stamp) -> CheckVerdict:
    """Return the checker's verdict as a CheckVerdict message."""
    return CheckVerdict(approved=verdict.approved, approval_token=verdict.token,
                        world_hash=verdict.world_hash, checked_at=stamp,
                        violations=[Violation(code=v.code.name, node_id=v.node_id,
                                              message=v.message, severity=int(v.severity))
                                    for v in verdict.violations])


def plan_to_msg(verdict: Verdict, *, plan_id: str, domain: str, grammar_hash: str,
                stamp, effective: dict | None = None) -> PlanGraph:
    """Return a checked plan (canonical program + flattened nodes) as a PlanGraph."""
    msg = PlanGraph(plan_id=plan_id, domain=domain, program=verdict.canonical,
                    grammar_hash=grammar_hash, schema_hash=verdict.schema_hash)
    msg.header.stamp, msg.header.frame_id = stamp, 'world'
    for n in (verdict.graph.nodes if verdict.graph else ()):
        args = (effective or {}).get(n.id) or {}
        msg.nodes.append(PlanNode(
            id=n.id, skill=n.skill, depends_on=list(n.depends_on), guard=format_guard(n.guard),
            optional=n.optional, timeout_s=0.0, retries=-1 if n.retries is None else n.retries,
            arguments=[Argument(name=k, value_json=json.dumps(plain(v)))
                       for k, v in args.items()]))
    return msg
