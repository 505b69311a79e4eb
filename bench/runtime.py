"""Runtime benchmark: STOP latency, request -> approved plan, executor dispatch overhead.

Brings the whole stack up (``bb-agent up``'s supervisor: separate processes, real DDS on
loopback) with the shipped default model on the CPU, then measures:

- ``stop_latency_ms``: a human is put 0.15 m from the gripper (``sim/human``) -> the
  ``estop`` STOP arrives at a subscriber in another process (the robot subscribes the same
  topic). Path: this process -> sim robot -> world_state -> safety monitor -> estop.
- ``request_to_plan_ms``: a ``handle_request`` with ``dry_run`` (propose with the model,
  check with the checker) -> the approved plan, for a multi-step robot request.
- ``dispatch_overhead_ms``: per executed node, the executor's attempt time minus the
  robot's own skill time (reported by the sim in its Skill result).
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import threading
import time

from bench.timing import machine, percentile

REQUESTS = ('Put the red cup in bin A, then go home.', 'Look at the bins.',
            'Pick up the green ball and put it in bin B.')


def _ms(samples, keys):
    """Percentiles in ms; None when nothing was measured (``n`` says 0)."""
    return {k: round(percentile(samples, q), 3) if samples else None for k, q in keys}


def _reset(client, reset, trigger, timeout: float = 5.0) -> None:
    """Ask for a STOP reset until the monitor accepts (it needs 1 s of safe states)."""
    deadline = time.monotonic() + timeout
    while not client.call(reset, trigger.Request()).success and time.monotonic() < deadline:
        time.sleep(0.1)


def run(repeats: int = 30) -> dict:
    """Run the benchmark; ``repeats`` samples of each measure (capped for runtime)."""
    from geometry_msgs.msg import Point
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    from bb_agent.clients.supervisor import Supervisor
    from bb_agent.nodes.qos import LATCHED
    from bb_msgs.action import ExecutePlan, HandleRequest
    from bb_msgs.msg import PlanGraph, WorldState
    from bb_msgs.srv import CheckPlan
    from tests.ros.stack import RosClient
    n = max(5, min(repeats, 40))
    os.environ.setdefault('BB_AGENT_APPROVAL_KEY_FILE',
                          os.path.join(tempfile.mkdtemp(), 'approval.key'))
    stack = Supervisor(quiet=True, overrides={'sim_robot': {'time_scale': 10.0}})
    stack.start()
    c = None
    try:
        assert stack.wait_ready(180), 'stack did not come up'
        c = RosClient('bench_runtime')
        handle = c.action_client(HandleRequest, 'handle_request')
        execute = c.action_client(ExecutePlan, 'execute_plan')
        check = c.node.create_client(CheckPlan, 'check')
        reset = c.node.create_client(Trigger, 'safety/reset')
        human = c.node.create_publisher(Point, 'sim/human', 10)
        world = c.collect(WorldState, 'world_state')
        stop_seen = threading.Event()
        c.node.create_subscription(Bool, 'estop', lambda m: m.data and stop_seen.set(),
                                   LATCHED)
        assert c.wait_until(lambda: world, 20)
        time.sleep(1.0)
        stop = []
        for _ in range(n):
            _reset(c, reset, Trigger)
            time.sleep(0.3)
            stop_seen.clear()
            ee = world[-1].robot.end_effector.position
            start = time.perf_counter()
            human.publish(Point(x=ee.x + 0.15, y=ee.y, z=ee.z))
            if stop_seen.wait(2.0):
                stop.append(1e3 * (time.perf_counter() - start))
            human.publish(Point(x=math.nan, y=math.nan, z=math.nan))
            time.sleep(0.3)
        _reset(c, reset, Trigger)
        plan_ms = []
        for i in range(n):
            goal = HandleRequest.Goal(text=REQUESTS[i % len(REQUESTS)], domain='robot',
                                      actor_id='bench', dry_run=True)
            start = time.perf_counter()
            ok, result = c.run_action(handle, goal, timeout=120)
            if ok and result.outcome == HandleRequest.Result.OUTCOME_SUCCEEDED:
                plan_ms.append(1e3 * (time.perf_counter() - start))
        overhead = []
        program = ''.join(f's{k} = say(text="n{k}");\n' for k in range(1, 6))
        for _ in range(max(2, n // 5)):
            time.sleep(0.2)
            verdict = c.call(check, CheckPlan.Request(plan=PlanGraph(
                plan_id='bench', domain='robot', program=program))).verdict
            ok, result = c.run_action(execute, ExecutePlan.Goal(
                plan=PlanGraph(plan_id='bench', domain='robot', program=program),
                approval_token=verdict.approval_token, world_hash=verdict.world_hash))
            for node in (result.summary.nodes if ok else ()):
                m = re.search(r'dispatch overhead ([0-9.]+) ms', node.message)
                if m:
                    overhead.append(float(m.group(1)))
    finally:
        if c is not None:
            c.close()
        stack.stop()
    return {'stop_latency_ms': {**_ms(stop, (('p50', 0.5), ('p99', 0.99))), 'n': len(stop)},
            'request_to_plan_ms': {**_ms(plan_ms, (('p50', 0.5), ('p95', 0.95))),
                                   'n': len(plan_ms)},
            'dispatch_overhead_ms': {**_ms(overhead, (('p50', 0.5), ('p99', 0.99))),
                                     'n': len(overhead)},
            'machine': machine()}
