"""The bb-agent console script: sub-commands from entry points, info, exit codes."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))


def _run(*args):
    return subprocess.run([BB_AGENT, *args], capture_output=True, text=True, timeout=60)


def test_when_info_json_requested_expect_share_and_modules(repo_root):
    result = _run('info', '--json')
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info['share'] == {'path': str(repo_root), 'route': 'checkout'}
    assert info['modules']['rclpy'] and info['modules']['bb_msgs']
    assert info['ros_env']['ROS_AUTOMATIC_DISCOVERY_RANGE'] in ('LOCALHOST', 'OFF')


@pytest.mark.parametrize('args,code,needle', [
    ((), 2, 'usage: bb-agent'),
    (('--version',), 0, 'bb-agent 0.1.0'),
    (('no-such-command',), 2, 'invalid choice'),
    (('info', '--bogus'), 2, 'unrecognized arguments'),
])
def test_when_invoked_expect_exit_code_and_message(args, code, needle):
    result = _run(*args)
    assert result.returncode == code
    assert needle in result.stdout + result.stderr


def test_when_share_override_wrong_expect_info_exit_1_with_reason(tmp_path):
    result = subprocess.run([BB_AGENT, 'info'], capture_output=True, text=True, timeout=60,
                            env={'BB_AGENT_SHARE': str(tmp_path), 'PATH': '/usr/bin:/bin'})
    assert result.returncode == 1
    assert 'has no package.xml' in result.stdout
