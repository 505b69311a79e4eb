"""scripts/setup.sh: idempotent by input hashes, and clear about missing prerequisites."""

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from tests.conftest import copy_checkout


@pytest.fixture
def checkout(repo_root, tmp_path):
    return copy_checkout(repo_root, tmp_path / 'repo')


def _setup(checkout, *args, env):
    return subprocess.run(['bash', str(checkout / 'scripts' / 'setup.sh'), *args],
                          cwd=checkout, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def synced_venv(repo_root, checkout, tmp_path):
    """Return a venv dir whose stamps match the real .venv (whose interpreter runs these tests)."""
    venv = tmp_path / 'venv'
    (venv / 'bin').mkdir(parents=True)
    (venv / 'bin' / 'python').symlink_to(sys.executable)
    shutil.copytree(Path(sys.prefix) / '.bb_stamps', venv / '.bb_stamps')
    # Installed packages are part of being up to date: share the real site-packages.
    (venv / 'lib').symlink_to(Path(sys.prefix) / 'lib')
    return venv


@pytest.mark.parametrize('edit,stale', [
    (None, None),
    ('requirements/ml.txt', 'deps'),
    ('bb_msgs/msg/Argument.msg', 'msgs'),
    ('setup.py', 'pkg'),
    ('requirements/base.txt', 'base'),
])
def test_when_inputs_edited_expect_only_affected_step_stale(checkout, synced_venv, edit, stale):
    env = {**os.environ, 'VENV': str(synced_venv)}
    if edit:
        with open(checkout / edit, 'a') as f:
            f.write('\n# edited\n')
    result = _setup(checkout, '--check', env=env)
    if stale is None:
        assert result.returncode == 0, result.stdout + result.stderr
        assert 'up to date' in result.stdout
    else:
        assert result.returncode == 1
        assert f'stale: {stale}' in result.stdout


def test_when_converted_base_missing_expect_base_step_stale(checkout, synced_venv, tmp_path):
    # The converted pretrained base lives in the cache, outside the venv: gone means stale.
    env = {**os.environ, 'VENV': str(synced_venv), 'BB_AGENT_CACHE': str(tmp_path / 'empty')}
    result = _setup(checkout, '--check', env=env)
    assert result.returncode == 1
    assert 'stale: base' in result.stdout


def _path_without(tmp_path, *missing):
    """Return a PATH holding every command of /usr/bin and /bin except ``missing``."""
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    for src in (Path('/usr/local/bin'), Path('/usr/bin'), Path('/bin')):
        for tool in src.iterdir():
            target = bindir / tool.name
            if tool.name not in missing and not target.exists():
                target.symlink_to(tool)
    return str(bindir)


@pytest.mark.parametrize('missing,python,needle', [
    ((), '/nonexistent/python3.11', 'python3.11 not found'),
    (('cmake',), None, 'cmake not found (needed to build bb_msgs). Install cmake'),
    (('cc', 'gcc'), None, 'no C compiler found'),
    (('c++', 'g++'), None, 'no C++ compiler found'),
])
def test_when_prerequisite_missing_expect_message_saying_what_to_install(
        checkout, tmp_path, missing, python, needle):
    env = {'PATH': _path_without(tmp_path, *missing), 'VENV': str(tmp_path / 'fresh'),
           'PYTHON': python or str(Path(sys.base_prefix) / 'bin' / 'python3.11'),
           'HOME': os.environ.get('HOME', '/root')}
    result = _setup(checkout, env=env)
    assert result.returncode == 1
    assert needle in result.stderr, result.stderr
    assert not (tmp_path / 'fresh').exists(), 'set-up must stop before creating the venv'
