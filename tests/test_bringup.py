"""config/agent.yaml validates, and bad bring-up files fail with file and key named."""

import pytest

from bb_agent.core.bringup import load_bringup
from bb_agent.core.outcomes import BBError, ErrorCode


def test_when_shipped_agent_yaml_loaded_expect_valid(repo_root):
    bringup = load_bringup(repo_root / 'config' / 'agent.yaml')
    for spec in bringup.nodes:
        for params in spec.params:
            assert (repo_root / 'config' / params).is_file(), params


@pytest.mark.parametrize('text,needle', [
    ('nodes: []\n', 'exactly one top-level key "bringup"'),
    ('bringup:\n  nodez: []\n', 'nodez'),
    ('bringup:\n  nodes:\n    - {name: a, executable: a, colour: red}\n', 'colour'),
    ('bringup:\n  nodes:\n    - {name: Bad-Name, executable: a}\n', 'name'),
    ('bringup:\n  nodes:\n    - {name: a, executable: a}\n    - {name: a, executable: b}\n',
     'duplicate node names'),
    ('bringup: [\n', 'cannot read'),
])
def test_when_bringup_invalid_expect_typed_error_naming_file_and_key(tmp_path, text, needle):
    path = tmp_path / 'agent.yaml'
    path.write_text(text)
    with pytest.raises(BBError) as info:
        load_bringup(path)
    assert info.value.code == ErrorCode.INVALID_REQUEST
    assert needle in info.value.message and str(path) in info.value.message


def test_when_error_has_empty_message_expect_value_error():
    with pytest.raises(ValueError):
        BBError(ErrorCode.INTERNAL, '')


def test_when_operator_skills_are_configured_expect_agent_and_executor_to_agree():
    import yaml

    from bb_agent.core.resources import config_path
    doc = yaml.safe_load(config_path('nodes', 'operator.yaml').read_text())
    lists = {node: doc[node]['ros__parameters']['approval_skills']
             for node in ('agent', 'executor')}
    assert lists['agent'] == lists['executor'], lists


@pytest.mark.parametrize('files,overrides,enabled', [
    ([], None, False),                                            # the shipped default: off
    (['base_url: ""'], None, False),
    (['base_url: http://127.0.0.1:9/v1'], None, True),
    (['base_url: http://127.0.0.1:9/v1', 'base_url: ""'], None, False),  # the later file wins
    (['timeout_s: 2.0'], {'base_url': 'http://127.0.0.1:9'}, True),        # overrides last
    (['base_url: http://x'], {'base_url': ''}, False),
])
def test_when_a_door_is_enabled_by_a_parameter_expect_it_started_only_when_set(
        tmp_path, files, overrides, enabled):
    from bb_agent.core.resources import config_path
    bringup = load_bringup(config_path('agent.yaml'))
    spec = next(n for n in bringup.nodes if n.name == 'api_executor')
    paths = [config_path('nodes', 'api_executor.yaml')]
    for i, line in enumerate(files):
        paths.append(tmp_path / f'{i}.yaml')
        paths[-1].write_text(f'api_executor:\n  ros__parameters:\n    {line}\n')
    assert spec.enabled(paths, overrides) is enabled
    assert all(n.enabled([]) for n in bringup.nodes if n.enabled_by is None)


def test_when_params_come_from_a_pipe_expect_one_copy_every_node_can_read(tmp_path):
    import os
    import threading

    from bb_agent.clients.supervisor import _readable_copy
    fifo = tmp_path / 'params.fifo'  # what bash's <(printf ...) hands over
    os.mkfifo(fifo)
    text = 'api_executor:\n  ros__parameters:\n    base_url: http://127.0.0.1:9\n'
    writer = threading.Thread(target=fifo.write_text, args=(text,))
    writer.start()
    copy = _readable_copy(str(fifo))
    writer.join(5)
    assert copy != str(fifo) and open(copy).read() == text == open(copy).read()
    regular = tmp_path / 'p.yaml'
    regular.write_text(text)
    assert _readable_copy(str(regular)) == str(regular) and _readable_copy('') == ''
