"""The stack as a ROS 2 user drives it: the real ``ros2 launch`` and ``ros2`` CLI.

Runs where the real launch system and CLI are installed in the venv
(``../shared/ros2-tools/install.sh .venv``; CI does it when ``../shared`` exists); skips
elsewhere, saying so. One ``ros2 launch bb_agent agent.launch.py`` serves the module: its
nodes and lifecycle states are read with ``ros2``, a goal goes in with ``ros2 action
send_goal``, a parameter set with ``ros2 param set`` is seen applied, and SIGINT ends the
launch with exit 0, no ERROR line and no orphan.
"""

import math
import os
from pathlib import Path
import signal
import subprocess
import sys
import time

import pytest

from bench.peers import free_port

pytestmark = pytest.mark.ros
ROS2 = Path(sys.executable).with_name('ros2')
if not ROS2.exists():
    pytest.skip('the real ros2 CLI is not installed in the venv (run '
                '../shared/ros2-tools/install.sh .venv)', allow_module_level=True)

NODES = ('/agent', '/builder', '/executor', '/http_bridge', '/plan_checker',
         '/safety_monitor', '/sim_robot')
LIFECYCLE = ('/builder', '/executor', '/safety_monitor', '/sim_robot')
UP_S = 120.0  # launch -> every node listed (a cold start imports torch on 2 cores)
STOP_S = 20.0  # SIGINT -> ros2 launch exits


def ros2(*args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROS2), *args], capture_output=True, text=True,
                          timeout=timeout)


def until(check, timeout: float, what: str):
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f'{what} not within {timeout:g} s (last: {last!r})')


@pytest.fixture(scope='module')
def launch(tmp_path_factory):
    folder = tmp_path_factory.mktemp('cli')
    port = free_port()
    extra = folder / 'params.yaml'
    extra.write_text(f'http_bridge:\n  ros__parameters:\n    port: {port}\n')
    log = open(folder / 'launch.log', 'w+')  # noqa: SIM115 - read back at the end
    proc = subprocess.Popen([str(ROS2), 'launch', 'bb_agent', 'agent.launch.py',
                             f'params_file:={extra}'], stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, env=os.environ.copy())
    ros2('daemon', 'start')
    try:
        until(lambda: all(n in ros2('node', 'list').stdout.split() for n in NODES), UP_S,
              'every node in `ros2 node list`')
        yield proc, log
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        ros2('daemon', 'stop')
        log.close()


@pytest.mark.parametrize('node', LIFECYCLE)
def test_when_launched_expect_each_lifecycle_node_active(launch, node):
    until(lambda: 'active [3]' in ros2('lifecycle', 'get', node).stdout, 30,
          f'{node} active')


def test_when_a_goal_is_sent_with_ros2_action_expect_it_to_succeed(launch):
    answer = ros2('action', 'send_goal', '/handle_request', 'bb_msgs/action/HandleRequest',
                  "{text: 'go home', domain: robot, actor_id: cli, dry_run: true}",
                  timeout=120)
    assert 'Goal finished with status: SUCCEEDED' in answer.stdout, answer.stdout[-2000:]


def test_when_the_arm_rests_at_home_with_nobody_near_expect_vs_zero(launch):
    def judged():  # the echoed status once the monitor judges a state (V_s finite)
        out = ros2('topic', 'echo', '/safety/status', '--once').stdout
        line = next((x for x in out.splitlines() if x.startswith('v_s:')), None)
        # .inf: no state yet, or a stale one (start-up under load); not a judgement
        return out if line and math.isfinite(float(line.split()[1])) else None

    out = until(judged, 30, 'a safety status with a finite V_s')
    v_s = float(next(line for line in out.splitlines() if line.startswith('v_s:')).split()[1])
    assert v_s < 0.05, out  # every term is 0 at home: no speed, force, person, edge, joint


def test_when_a_parameter_is_set_with_ros2_param_expect_it_applied_or_refused(launch):
    refused = ros2('param', 'set', '/safety_monitor', 'rate_hz', '200.0')
    assert 'read-only' in refused.stdout + refused.stderr
    # stale_s and stale_confirm_s are live: at 10 ms, confirmed at once, the monitor finds
    # the 50 Hz state stale and latches STOP
    for name, value in (('stale_confirm_s', '0.0'), ('stale_s', '0.01')):
        ok = ros2('param', 'set', '/safety_monitor', name, value)
        assert 'Set parameter successful' in ok.stdout, ok.stdout + ok.stderr
    try:
        status = until(lambda: (lambda out: 'latched: true' in out and out)(
            ros2('topic', 'echo', '/safety/status', '--once').stdout), 20, 'STOP latched')
        assert 'stale' in status
    finally:
        ros2('param', 'set', '/safety_monitor', 'stale_s', '0.2')
        ros2('param', 'set', '/safety_monitor', 'stale_confirm_s', '0.05')


def test_when_the_launch_gets_sigint_expect_exit_0_no_error_and_no_orphan(launch):
    proc, log = launch
    os.killpg(proc.pid, signal.SIGINT)
    code = proc.wait(STOP_S)
    log.seek(0)
    text = log.read()
    assert code == 0, text[-3000:]
    # launch's own errors (a node's log of the STOP the parameter test provoked is not one)
    bad = [line for line in text.splitlines() if '[ERROR] [launch' in line or
           'process has died' in line or 'Traceback' in line or 'Exception' in line]
    assert not bad, bad
    time.sleep(1.0)
    left = subprocess.run(['pgrep', '-g', str(proc.pid)], capture_output=True, text=True)
    assert not left.stdout.strip(), left.stdout


def test_when_a_required_node_dies_under_ros2_launch_expect_exit_1_naming_it(tmp_path):
    extra = tmp_path / 'params.yaml'
    extra.write_text(f'http_bridge:\n  ros__parameters:\n    port: {free_port()}\n')
    with open(tmp_path / 'launch.log', 'w+') as log:
        proc = subprocess.Popen([str(ROS2), 'launch', 'bb_agent', 'agent.launch.py',
                                 'use_sim:=false', f'params_file:={extra}'], stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            until(lambda: 'plan_checker READY' in (tmp_path / 'launch.log').read_text(), UP_S,
                  'the plan checker up')
            pids = subprocess.run(['pgrep', '-g', str(proc.pid), '-f', '__node:=plan_checker'],
                                  capture_output=True, text=True).stdout.split()
            assert pids
            for pid in pids:
                os.kill(int(pid), signal.SIGKILL)
            code = proc.wait(STOP_S)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        log.seek(0)
        text = log.read()
    assert code == 1, text[-3000:]
    assert 'required node plan_checker exited' in text, text[-3000:]
