"""colcon builds both packages in a venv (the README's ROS 2 workspace route)."""

import json
import os
from pathlib import Path
import shlex
import subprocess
import sys

import pytest

from tests.conftest import copy_checkout

pytestmark = pytest.mark.slow

VENV_BIN = Path(sys.executable).parent


@pytest.fixture(scope='module')
def workspace(repo_root, tmp_path_factory) -> Path:
    ws = tmp_path_factory.mktemp('ws')
    copy_checkout(repo_root, ws / 'src' / 'bb_agent')
    env = {**os.environ, 'PATH': f'{VENV_BIN}:{os.environ["PATH"]}',
           'VIRTUAL_ENV': str(VENV_BIN.parent)}
    env.pop('AMENT_PREFIX_PATH', None)
    # The repo root is itself a package, so colcon would not look below it: name both.
    result = subprocess.run(
        [str(VENV_BIN / 'colcon'), 'build', '--base-paths', 'src/bb_agent',
         'src/bb_agent/bb_msgs', '--event-handlers', 'console_direct-'],
        cwd=ws, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return ws


def _in_workspace(ws: Path, command: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ('AMENT_PREFIX_PATH', 'PYTHONPATH')}
    return subprocess.run(['bash', '-c', f'. install/setup.sh && {command}'], cwd=ws, env=env,
                          capture_output=True, text=True, timeout=120)


def test_when_colcon_built_expect_executable_in_lib_package_dir(workspace):
    assert (workspace / 'install' / 'bb_agent' / 'lib' / 'bb_agent' / 'bb-agent').is_file()
    share = workspace / 'install' / 'bb_agent' / 'share'
    assert (share / 'ament_index' / 'resource_index' / 'packages' / 'bb_agent').is_file()
    assert (share / 'bb_agent' / 'launch' / 'agent.launch.py').is_file()


def test_when_workspace_sourced_expect_interfaces_and_share_via_ament_index(workspace):
    code = ('import json, bb_msgs, bb_agent.cli.info as i;'
            'from bb_msgs.action import HandleRequest, ExecutePlan, Skill;'
            'from bb_msgs.msg import PlanGraph; PlanGraph(plan_id="p");'
            'print(json.dumps({"msgs": bb_msgs.__file__, **i.collect()}))')
    result = _in_workspace(workspace, f'cd / && {sys.executable} -c {shlex.quote(code)}')
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout.strip().splitlines()[-1])
    assert info['msgs'].startswith(str(workspace / 'install' / 'bb_msgs'))
    assert info['share'] == {'path': str(workspace / 'install' / 'bb_agent' / 'share' /
                                         'bb_agent'), 'route': 'ament_index'}
