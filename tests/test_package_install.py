"""The bb_agent wheel carries the ament share layout, and an installed copy finds its data."""

import json
import os
from pathlib import Path
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import copy_checkout

SHARE = 'bb_agent-0.1.0.data/data/share'


@pytest.fixture(scope='module')
def wheel(repo_root, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('wheel')
    # Build from a copy, so build/ and *.egg-info never land in the checkout.
    src = copy_checkout(repo_root, out / 'src')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '--no-build-isolation', '-w', str(out), str(src)],
                   check=True, timeout=300, capture_output=True)
    (found,) = out.glob('bb_agent-*.whl')
    return found


def test_when_wheel_built_expect_share_layout_with_marker_and_data_folders(wheel, repo_root):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert f'{SHARE}/ament_index/resource_index/packages/bb_agent' in names
    assert f'{SHARE}/bb_agent/package.xml' in names
    assert f'{SHARE}/bb_agent/launch/agent.launch.py' in names
    assert f'{SHARE}/bb_agent/config/agent.yaml' in names
    # Every file of the share folders is shipped, not just a sample.
    for folder in ('launch', 'config', 'grammars'):
        for path in (repo_root / folder).rglob('*'):
            if path.is_file() and '__pycache__' not in path.parts:
                rel = path.relative_to(repo_root).as_posix()
                assert f'{SHARE}/bb_agent/{rel}' in names, rel
    assert 'bb_agent/core/resources.py' in names
    assert not any(n.startswith('tests/') for n in names)


def test_when_wheel_built_expect_bb_agent_console_script(wheel):
    with zipfile.ZipFile(wheel) as zf:
        (ep,) = [n for n in zf.namelist() if n.endswith('entry_points.txt')]
        text = zf.read(ep).decode()
    assert 'bb-agent = bb_agent.cli:main' in text


@pytest.fixture(scope='module')
def prefix_install(wheel, tmp_path_factory) -> Path:
    prefix = tmp_path_factory.mktemp('prefix')
    # --ignore-installed: without it pip would uninstall the venv's own bb_agent first.
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--ignore-installed', '--no-warn-script-location', '--prefix', str(prefix),
                    str(wheel)],
                   check=True, timeout=120)
    return prefix


def _info_from(prefix: Path, extra_env: dict) -> dict:
    site = prefix / 'lib' / f'python{sys.version_info[0]}.{sys.version_info[1]}' / 'site-packages'
    env = {k: v for k, v in os.environ.items()
           if k not in ('AMENT_PREFIX_PATH', 'BB_AGENT_SHARE')}
    env.update({'PYTHONPATH': str(site), **extra_env})
    # -I would drop PYTHONPATH; run from / so the checkout is not on sys.path.
    code = ('import json, bb_agent.core.resources as r, bb_agent.cli.info as i;'
            f'assert r.__file__.startswith({str(site)!r}), r.__file__;'
            'print(json.dumps(i.collect()))')
    out = subprocess.run([sys.executable, '-c', code], cwd='/', env=env, check=True,
                         capture_output=True, text=True, timeout=60).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize('route,use_ament', [('prefix', False), ('ament_index', True)])
def test_when_installed_outside_checkout_expect_share_found_via_route(
        prefix_install, route, use_ament):
    env = {'AMENT_PREFIX_PATH': str(prefix_install)} if use_ament else {}
    info = _info_from(prefix_install, env)
    assert info['share'] == {'path': str(prefix_install / 'share' / 'bb_agent'),
                             'route': route}
    assert 'agent.yaml' in info['configs']
