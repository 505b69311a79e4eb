"""Test-wide set-up: DDS stays on loopback, each run has its own domain and log dir."""

import os
from pathlib import Path
import random
import sys
import tempfile

import pytest

REPO = Path(__file__).resolve().parents[1]

# Keep DDS traffic on loopback whatever the caller's environment says; the Makefile sets
# the same, this covers a bare `pytest`.
if os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE') not in ('LOCALHOST', 'OFF'):
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
os.environ.pop('ROS_STATIC_PEERS', None)
os.environ.setdefault('ROS_DOMAIN_ID', str(random.randint(1, 101)))
os.environ.setdefault('ROS_LOG_DIR', tempfile.mkdtemp(prefix='bb_agent_roslog.'))
# The builder's model registry (promotions, rollbacks) lives under the data home: a test run
# must neither read a user's promoted model nor leave one behind.
os.environ['XDG_DATA_HOME'] = tempfile.mkdtemp(prefix='bb_agent_data.')
# The venv is an ament prefix (scripts/setup.sh): launch and the ros2 CLI find bb_agent in it.
_VENV = str(Path(sys.executable).parent.parent)
if _VENV not in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep):
    os.environ['AMENT_PREFIX_PATH'] = os.pathsep.join(
        p for p in (_VENV, os.environ.get('AMENT_PREFIX_PATH')) if p)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    """Return the root of the checkout under test."""
    return REPO


@pytest.fixture(scope='session')
def venv_python() -> str:
    """Return the venv's own interpreter (the ROS wheels re-exec it to set library paths)."""
    return sys.executable


def copy_checkout(repo_root: Path, dest: Path) -> Path:
    """Copy the files git would ship (tracked, or untracked and not ignored) to ``dest``.

    Tests that build, break or re-run parts of the project work on such a copy, so the
    checkout under test is never modified.
    """
    import shutil
    import subprocess

    listed = subprocess.run(
        ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
        cwd=repo_root, check=True, capture_output=True, timeout=60).stdout.decode()
    for rel in filter(None, listed.split('\0')):
        if (repo_root / rel).is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(repo_root / rel, dest / rel)
    return dest
