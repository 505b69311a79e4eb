"""Bring up real bb_agent nodes as separate processes, and a client that talks to them."""

import os
from pathlib import Path
import sys
import time

from rclpy.action import ActionClient

from bb_agent.nodes.spun import SpunNode, wait_future
from tests.ros.harness import Proc

BIN = Path(sys.executable).parent


# The monitor's stale_s for stacks whose tests are not about staleness. On a 2-core machine
# busy with a test run, each process start (a CLI, a node) can starve the 50 Hz sim past the
# default 0.2 s, and the monitor rightly latches STOP (seen in CI: "state stale: 0.26 s");
# the staleness rule itself is tested at its default (test_runtime_stack, test_ros2_cli).
LOADED_STALE_S = 1.0


class Stack:
    """Node processes: ``{name: (executable, {param: value})}``; params files from config/."""

    def __init__(self, repo: Path, nodes: dict, env: dict) -> None:
        self.procs = {}
        for name, (exe, params) in nodes.items():
            argv = [str(BIN / exe), '--ros-args', '--params-file',
                    str(repo / 'config' / 'nodes' / f'{name}.yaml')]
            for key, value in params.items():
                argv += ['-p', f'{key}:={value}']
            self.procs[name] = Proc(argv, cwd=repo, env=env)
        for name, proc in self.procs.items():
            assert proc.wait_for_line(f'{name} READY', 60), f'{name}:\n{proc.output()}'

    def kill(self, name: str) -> None:
        """SIGKILL one node (fault injection)."""
        proc = self.procs[name].popen
        os.killpg(proc.pid, 9)
        proc.wait(5)

    def stop(self) -> dict:
        """SIGINT every node; return exit codes."""
        return {name: proc.stop() for name, proc in self.procs.items()}


class RosClient(SpunNode):
    """A test's node in its own context (see :class:`~bb_agent.nodes.spun.SpunNode`)."""

    def call(self, client, request, timeout: float = 10.0):
        """Call a service; wait for the server first."""
        assert client.wait_for_service(timeout_sec=timeout), client.srv_name
        future = client.call_async(request)
        return self.wait(future, timeout)

    def check_until_world(self, client, plan, timeout: float = 20.0):
        """Call CheckPlan for ``plan``; repeat while the checker has no world yet (401)."""
        from bb_msgs.srv import CheckPlan
        deadline = time.monotonic() + timeout
        while True:
            answer = self.call(client, CheckPlan.Request(plan=plan))
            if answer.error_code != 401 or time.monotonic() > deadline:
                return answer

    @staticmethod
    def wait(future, timeout: float):
        result = wait_future(future, timeout)
        assert result is not None, 'no answer in time'
        return result

    def run_action(self, client: ActionClient, goal, timeout: float = 30.0, feedback=None):
        """Send a goal and return (accepted, result)."""
        assert client.wait_for_server(timeout_sec=10.0)
        handle = self.wait(client.send_goal_async(goal, feedback_callback=feedback), 10.0)
        if not handle.accepted:
            return False, None
        return True, self.wait(handle.get_result_async(), timeout).result

    def collect(self, msg_type, topic: str, qos=10) -> list:
        """Subscribe and return the list the messages are appended to."""
        box = []
        self.node.create_subscription(msg_type, topic, box.append, qos)
        return box

    def wait_until(self, predicate, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def ready_to_move(self, timeout: float = 20.0) -> None:
        """Wait for the monitor's first state; reset a STOP latched during bring-up.

        Starting six processes on two cores can starve a state publisher past ``stale_s``,
        and the monitor then latches STOP (fail closed). An operator would reset it; so do
        the tests, once inputs are fresh.
        """
        from std_srvs.srv import Trigger

        from bb_msgs.msg import SafetyStatus
        status = self.collect(SafetyStatus, 'safety/status')
        reset = self.node.create_client(Trigger, 'safety/reset')
        assert self.wait_until(lambda: status and (status[-1].latched or
                                                   status[-1].level != status[-1].LEVEL_STOP),
                               timeout), 'no safety status'
        deadline = time.monotonic() + timeout
        while status[-1].latched:
            assert time.monotonic() < deadline, [s.reasons for s in status[-3:]]
            self.call(reset, Trigger.Request())
            time.sleep(0.2)
