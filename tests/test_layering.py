"""The layering contracts in .importlinter hold, and a violation of each is caught."""

from pathlib import Path
import shutil
import subprocess
import sys

import pytest

LINT_IMPORTS = str(Path(sys.executable).with_name('lint-imports'))
TRAIN = 'nothing outside train imports train (but its own CLI commands)'
ROS = 'only nodes and ROS clients import rclpy and bb_msgs'


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    # PYTHONPATH first, so grimp scans the tree under test rather than the editable install.
    return subprocess.run(
        [LINT_IMPORTS, '--config', str(root / '.importlinter'), '--no-cache'],
        cwd=root, capture_output=True, text=True, timeout=120,
        env={'PYTHONPATH': str(root), 'PATH': '/usr/bin:/bin'})


def test_when_repository_linted_expect_every_contract_kept(repo_root):
    result = _lint_imports(repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'Contracts: 3 kept, 0 broken' in result.stdout


@pytest.fixture
def tree_copy(repo_root, tmp_path):
    """Return a copy of the package and its contracts that a test may break."""
    shutil.copytree(repo_root / 'bb_agent', tmp_path / 'bb_agent',
                    ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(repo_root / '.importlinter', tmp_path / '.importlinter')
    return tmp_path


@pytest.mark.parametrize('module,statement,contract', [
    ('core/_bad.py', 'import rclpy', 'core imports neither rclpy nor torch'),
    ('core/_bad.py', 'import torch', 'core imports neither rclpy nor torch'),
    ('core/_bad.py', 'from bb_agent.nodes import x', 'core imports neither rclpy nor torch'),
    ('model/_bad.py', 'import bb_agent.train', TRAIN),
    ('nodes/_bad.py', 'from bb_agent.train import y', TRAIN),
    ('safety/_bad.py', 'import rclpy', ROS),
    ('domains/_bad.py', 'from bb_msgs.msg import PlanGraph', ROS),
    ('cli/info.py', 'import rclpy', ROS),  # a command that needs no stack stays ROS-free
    ('clients/_bad.py', 'import bb_agent.train', TRAIN),
])
def test_when_forbidden_import_added_expect_contract_broken(tree_copy, module, statement,
                                                             contract):
    (tree_copy / 'bb_agent' / module).write_text(f'{statement}\n')
    result = _lint_imports(tree_copy)
    assert result.returncode != 0
    assert f'{contract} BROKEN' in result.stdout, result.stdout
