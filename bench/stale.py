"""Stale-state robustness: false STOPs at idle under load, and the time to a real STOP.

False STOPs per hour at idle under a 2-core busy load, and the time to STOP when the
robot's state source really goes silent. Brings up the sim robot and the safety monitor
(separate processes over DDS on loopback), starts one busy-loop process per core, and
counts STOP latches while the robot stands idle for ``DURATION_S`` (a latch is reset once
V_s is safe again, and counted). Then it freezes the sim (SIGSTOP: its state stops) ``n``
times and measures freeze -> ``estop`` true.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import tempfile
import time

from bench.timing import machine, percentile

DURATION_S = 600.0  # idle observation under load (``repeats`` 1: 20 s)
FREEZES = 10


def _busy(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def run(*, repeats: int = 300) -> dict:
    """Run the benchmark; return the result document."""
    from std_msgs.msg import Bool
    from std_srvs.srv import Trigger

    from bb_agent.clients.supervisor import Supervisor
    from bb_agent.nodes.qos import LATCHED
    from bb_msgs.msg import SafetyStatus
    from tests.ros.stack import RosClient
    duration = DURATION_S if repeats > 1 else 20.0
    freezes = FREEZES if repeats > 1 else 2
    folder = tempfile.mkdtemp()
    bringup = os.path.join(folder, 'nodes.yaml')
    with open(bringup, 'w') as f:
        f.write('bringup:\n  nodes:\n'
                '    - {name: sim_robot, executable: sim_robot_node, lifecycle: true,'
                ' params: [nodes/sim_robot.yaml]}\n'
                '    - {name: safety_monitor, executable: safety_monitor_node, lifecycle: true,'
                ' params: [nodes/safety_monitor.yaml]}\n')
    stack = Supervisor(quiet=True, bringup_file=bringup)
    stack.start()
    stop_load = multiprocessing.Event()
    load = [multiprocessing.Process(target=_busy, args=(stop_load,), daemon=True)
            for _ in range(os.cpu_count() or 2)]
    c = None
    try:
        assert stack.wait_ready(120), 'stack did not come up'
        c = RosClient('bench_stale')
        reset = c.node.create_client(Trigger, 'safety/reset')
        status = c.collect(SafetyStatus, 'safety/status')
        latches = []
        c.node.create_subscription(Bool, 'estop', lambda m: latches.append(
            (time.monotonic(), m.data)), LATCHED)
        assert c.wait_until(lambda: status and not status[-1].latched, 30) or \
            _reset(c, reset, Trigger)
        for p in load:
            p.start()
        time.sleep(2.0)
        start, false_stops, reasons = time.monotonic(), 0, []
        while time.monotonic() - start < duration:
            time.sleep(0.5)
            if status and status[-1].latched:
                false_stops += 1
                reasons.append('; '.join(status[-1].reasons)[:200])
                _reset(c, reset, Trigger)
        observed = time.monotonic() - start
        stop_load.set()
        for p in load:
            p.join(5)
        sim = next(ch for ch in stack.children if ch.spec.name == 'sim_robot').popen
        to_stop = []
        for _ in range(freezes):
            _reset(c, reset, Trigger)
            time.sleep(0.5)
            mark = len(latches)
            frozen = time.monotonic()
            os.killpg(sim.pid, signal.SIGSTOP)
            deadline = frozen + 3.0
            while time.monotonic() < deadline and not any(d for _, d in latches[mark:]):
                time.sleep(0.002)
            hit = next((t for t, d in latches[mark:] if d), None)
            os.killpg(sim.pid, signal.SIGCONT)
            if hit is not None:
                to_stop.append(1e3 * (hit - frozen))
            time.sleep(0.5)
    finally:
        stop_load.set()
        if c is not None:
            c.close()
        stack.stop()
    return {'idle_under_load_s': round(observed, 1), 'load_processes': len(load),
            'false_stops': false_stops, 'false_stops_per_hour': round(
                false_stops * 3600.0 / max(observed, 1e-9), 2), 'false_stop_reasons': reasons[:5],
            'stale_to_stop_ms': {'p50': round(percentile(to_stop, 0.5), 1) if to_stop else None,
                                 'p99': round(percentile(to_stop, 0.99), 1) if to_stop else None,
                                 'n': len(to_stop), 'of': freezes},
            'machine': machine()}


def _reset(client, reset, trigger, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.call(reset, trigger.Request()).success:
            return True
        time.sleep(0.1)
    return False
