"""``bb-agent check``: verdicts and the documented exit codes (0 approved, 1 rejected, 2 error)."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))
GOLDEN = Path(__file__).resolve().parent / 'golden'


def _check(*args, stdin=None):
    return subprocess.run([BB_AGENT, 'check', *args], capture_output=True, text=True,
                          timeout=60, input=stdin)


@pytest.mark.parametrize('program,extra,code,needle', [
    ('robot/01_ok_pick_place.bb', (), 0, 'APPROVED'),
    ('robot/35_bad_precondition.bb', (), 1, 'E_PRECONDITION'),
    ('robot/14_bad_parse_eof.bb', (), 2, 'E_PARSE_EOF'),
    ('robot/48_repair_resource_conflict.bb', ('--repair',), 0, 'runs after s1'),
    ('robot/48_repair_resource_conflict.bb', (), 1, 'E_RESOURCE_CONFLICT'),
    ('robot/41_bad_speed_human.bb', ('--world', str(GOLDEN / 'worlds' / 'human.json')), 1,
     'E_SPEED_LIMIT'),
    ('robot/01_ok_pick_place.bb', ('--budget', '1'), 1, 'E_BUDGET'),
    ('robot/01_ok_pick_place.bb', ('--domain', 'mars'), 2, 'UNKNOWN_DOMAIN'),
    ('robot/01_ok_pick_place.bb', ('--budget', '-3'), 2, 'INVALID_ARGUMENT'),
    ('robot/01_ok_pick_place.bb', ('--world', '/nonexistent.json'), 2, 'cannot read'),
    ('no_such_file.bb', (), 2, 'cannot read'),
])
def test_when_program_checked_expect_exit_code_and_output(program, extra, code, needle):
    result = _check(str(GOLDEN / program), *extra)
    assert result.returncode == code, result.stdout + result.stderr
    assert needle in result.stdout + result.stderr


def test_when_json_requested_expect_verdict_document():
    result = _check(str(GOLDEN / 'robot' / '01_ok_pick_place.bb'), '--json')
    doc = json.loads(result.stdout)
    assert doc['approved'] and len(doc['token']) == 64 and doc['violations'] == []
    assert len(doc['schema_hash']) == 64 and len(doc['world_hash']) == 64


def test_when_parse_error_and_json_expect_position_and_expected_tokens():
    result = _check('-', '--json', stdin='s1 = pick(\n')
    doc = json.loads(result.stdout)
    assert result.returncode == 2
    assert (doc['error'], doc['line'], doc['column']) == ('E_PARSE_EOF', 1, 11)
    assert "')'" in doc['expected']


def test_when_world_is_not_json_expect_exit_2_with_reason(tmp_path):
    bad = tmp_path / 'w.json'
    bad.write_text('{not json')
    result = _check(str(GOLDEN / 'robot' / '01_ok_pick_place.bb'), '--world', str(bad))
    assert result.returncode == 2 and 'INVALID_JSON' in result.stderr
