"""Share-folder lookup: override, checkout, and typed errors for what is missing."""

import pytest

from bb_agent.core import resources
from bb_agent.core.resources import ResourceNotFoundError


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch):
    monkeypatch.delenv(resources.ENV_OVERRIDE, raising=False)
    resources.share_dir.cache_clear()
    yield
    resources.share_dir.cache_clear()


def test_when_imported_from_checkout_expect_checkout_route(repo_root):
    share = resources.share_dir()
    assert (share.path, share.route) == (repo_root, 'checkout')


def test_when_override_points_at_share_expect_env_route(monkeypatch, tmp_path):
    (tmp_path / 'package.xml').write_text('<package/>')
    monkeypatch.setenv(resources.ENV_OVERRIDE, str(tmp_path))
    assert resources.share_dir() == resources.ShareDir(tmp_path.resolve(), 'env')


def test_when_override_points_at_wrong_folder_expect_error_naming_it(monkeypatch, tmp_path):
    monkeypatch.setenv(resources.ENV_OVERRIDE, str(tmp_path))
    with pytest.raises(ResourceNotFoundError, match='has no package.xml'):
        resources.share_dir()


@pytest.mark.parametrize('call,needle', [
    (lambda: resources.grammar_path('no_such_grammar'), 'grammars/no_such_grammar.lark'),
    (lambda: resources.config_path('nope.yaml'), 'config/nope.yaml'),
    (lambda: resources.share_path('launch', 'x.launch.py'), 'launch/x.launch.py'),
])
def test_when_file_missing_expect_error_naming_file_and_share(call, needle):
    with pytest.raises(ResourceNotFoundError, match=needle):
        call()


def test_when_file_present_expect_its_path(repo_root):
    assert resources.config_path('agent.yaml') == repo_root / 'config' / 'agent.yaml'
