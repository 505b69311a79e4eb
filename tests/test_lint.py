"""Linters run as tests: ruff at 99 columns with pep257 docstring rules on public APIs."""

from pathlib import Path
import subprocess
import sys

RUFF = str(Path(sys.executable).with_name('ruff'))


def test_when_ruff_checks_repository_expect_no_findings(repo_root):
    result = subprocess.run([RUFF, 'check', '--no-cache', '.'], cwd=repo_root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_when_public_function_lacks_docstring_expect_ruff_finding(repo_root, tmp_path):
    # The rules must actually bite: an undocumented public API is reported.
    (tmp_path / 'ruff.toml').write_text((repo_root / 'ruff.toml').read_text())
    (tmp_path / 'mod.py').write_text('"""Module."""\n\n\ndef public_api():\n    return 1\n')
    result = subprocess.run([RUFF, 'check', '--no-cache', '.'], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert 'D103' in result.stdout


def test_when_line_exceeds_99_columns_expect_ruff_finding(repo_root, tmp_path):
    (tmp_path / 'ruff.toml').write_text((repo_root / 'ruff.toml').read_text())
    (tmp_path / 'mod.py').write_text('"""Module."""\n\nX = ' + "'" + 'a' * 100 + "'\n")
    result = subprocess.run([RUFF, 'check', '--no-cache', '.'], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert 'E501' in result.stdout
