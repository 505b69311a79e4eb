"""RViz markers (frame ``world``): the world and robot, V_s, and the plan graph."""

from __future__ import annotations

from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from visualization_msgs.msg import Marker, MarkerArray

from bb_agent.core.execution import NodeState
from bb_agent.core.world import World

COLOURS = {'red': (0.9, 0.1, 0.1), 'blue': (0.1, 0.3, 0.9), 'green': (0.1, 0.7, 0.2),
           'yellow': (0.9, 0.8, 0.1), 'orange': (1.0, 0.5, 0.0), 'white': (0.95, 0.95, 0.95),
           'black': (0.1, 0.1, 0.1)}
STATE_COLOURS = {NodeState.PENDING: (0.6, 0.6, 0.6), NodeState.RUNNING: (0.1, 0.4, 1.0),
                 NodeState.RETRYING: (1.0, 0.6, 0.0), NodeState.SUCCEEDED: (0.1, 0.8, 0.2),
                 NodeState.FAILED: (0.9, 0.1, 0.1), NodeState.SKIPPED: (0.8, 0.8, 0.3),
                 NodeState.CANCELED: (0.5, 0.2, 0.5)}


def _marker(ns: str, mid: int, kind: int, stamp, rgb, alpha=1.0) -> Marker:
    m = Marker(ns=ns, id=mid, type=kind, action=Marker.ADD)
    m.header.frame_id, m.header.stamp = 'world', stamp
    m.color = ColorRGBA(r=float(rgb[0]), g=float(rgb[1]), b=float(rgb[2]), a=float(alpha))
    m.pose.orientation.w = 1.0
    return m


def world_markers(world: World, joints_xyz: list[tuple[float, float, float]],
                  stamp) -> MarkerArray:
    """Draw the objects (bins translucent, humans as cylinders) and the arm (line strip)."""
    out = MarkerArray()
    for i, o in enumerate(world.objects):
        human, is_bin = o.kind == 'human', o.kind == 'bin'
        rgb = (1.0, 0.8, 0.6) if human else (0.5, 0.5, 0.5) if is_bin else \
            COLOURS.get(str(o.attributes.get('color')), (0.7, 0.7, 0.7))
        m = _marker('world', i, Marker.CYLINDER if human else Marker.CUBE, stamp, rgb,
                    0.35 if is_bin else 1.0)
        m.pose.position.x, m.pose.position.y, m.pose.position.z = o.position
        m.scale.x, m.scale.y, m.scale.z = o.size
        out.markers.append(m)
        label = _marker('labels', i, Marker.TEXT_VIEW_FACING, stamp, (1, 1, 1))
        label.pose.position.x, label.pose.position.y = o.position[:2]
        label.pose.position.z = o.position[2] + o.size[2] / 2 + 0.04
        label.scale.z, label.text = 0.035, o.id
        out.markers.append(label)
    arm = _marker('robot', 0, Marker.LINE_STRIP, stamp, (0.2, 0.2, 0.2))
    arm.scale.x = 0.03
    arm.points = [Point(x=x, y=y, z=z) for x, y, z in joints_xyz]
    out.markers.append(arm)
    return out


def vs_marker(v_s: float, threshold: float, latched: bool, stamp) -> MarkerArray:
    """Show V_s as text above the workspace, green to red with the value, red when latched."""
    frac = 1.0 if latched or v_s != v_s else min(1.0, max(0.0, v_s / threshold))
    m = _marker('vs', 0, Marker.TEXT_VIEW_FACING, stamp, (frac, 1.0 - frac, 0.1))
    m.pose.position.z, m.scale.z = 0.9, 0.06
    m.text = f'V_s {v_s:.2f} / {threshold:.2f}' + ('  STOP' if latched else '')
    return MarkerArray(markers=[m])


def plan_markers(node_ids: list[str], skills: dict[str, str], deps: dict[str, list[str]],
                 states: dict[str, NodeState], stamp) -> MarkerArray:
    """Draw the plan graph as left-to-right layers, each node coloured by its state."""
    layer: dict[str, int] = {}
    for nid in node_ids:  # node_ids are in topological order
        layer[nid] = 1 + max((layer[d] for d in deps.get(nid, ()) if d in layer), default=-1)
    rows: dict[int, int] = {}
    pos = {}
    for nid in node_ids:
        row = rows.get(layer[nid], 0)
        rows[layer[nid]] = row + 1
        pos[nid] = (-0.4 + 0.0 * row, -0.6 + 0.25 * layer[nid], 1.1 + 0.12 * row)
    out = MarkerArray(markers=[_marker('plan', 0, Marker.DELETEALL, stamp, (0, 0, 0))])
    for i, nid in enumerate(node_ids):
        rgb = STATE_COLOURS[states.get(nid, NodeState.PENDING)]
        box = _marker('plan', 1 + i, Marker.SPHERE, stamp, rgb)
        box.pose.position.x, box.pose.position.y, box.pose.position.z = pos[nid]
        box.scale.x = box.scale.y = box.scale.z = 0.06
        text = _marker('plan_text', 1 + i, Marker.TEXT_VIEW_FACING, stamp, (1, 1, 1))
        text.pose.position.x, text.pose.position.y = pos[nid][:2]
        text.pose.position.z, text.scale.z = pos[nid][2] + 0.05, 0.03
        text.text = f'{nid}: {skills.get(nid, "")}'
        out.markers += [box, text]
    edges = _marker('plan_edges', 0, Marker.LINE_LIST, stamp, (0.8, 0.8, 0.8))
    edges.scale.x = 0.005
    for nid in node_ids:
        for d in deps.get(nid, ()):
            if d in pos:
                edges.points += [Point(x=pos[d][0], y=pos[d][1], z=pos[d][2]),
                                 Point(x=pos[nid][0], y=pos[nid][1], z=pos[nid][2])]
    out.markers.append(edges)
    return out
