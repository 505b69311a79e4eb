"""The generated bb_msgs interfaces match the contract table, and the constants match core."""

import importlib
from pathlib import Path

import pytest

from bb_agent.core.outcomes import ErrorCode, Outcome, Severity
from tests.interface_contract import ACTION, CONSTANTS, MSG, OUTCOME_FIELDS, SRV

BB_MSGS = Path(__file__).resolve().parents[1] / 'bb_msgs'


def _parts():
    """Yield (label, generated class, expected fields) for every interface part."""
    for name, fields in MSG.items():
        yield f'msg/{name}', getattr(importlib.import_module('bb_msgs.msg'), name), fields
    for name, (req, resp) in SRV.items():
        cls = getattr(importlib.import_module('bb_msgs.srv'), name)
        yield f'srv/{name}.Request', cls.Request, req
        yield f'srv/{name}.Response', cls.Response, resp
    for name, (goal, result, feedback) in ACTION.items():
        cls = getattr(importlib.import_module('bb_msgs.action'), name)
        yield f'action/{name}.Goal', cls.Goal, goal
        yield f'action/{name}.Result', cls.Result, result
        yield f'action/{name}.Feedback', cls.Feedback, feedback


PARTS = list(_parts())


def _constants(cls):
    return {k: getattr(cls, k) for k in dir(cls) if k.isupper() and k != 'SLOT_TYPES'}


@pytest.mark.parametrize('label,cls,expected', PARTS, ids=[p[0] for p in PARTS])
def test_when_interface_generated_expect_fields_exactly_as_contract(label, cls, expected):
    assert cls.get_fields_and_field_types() == expected


def test_when_interface_files_listed_expect_every_one_in_contract():
    on_disk = {f'{p.parent.name}/{p.stem}' for p in BB_MSGS.glob('*/*')
               if p.suffix in ('.msg', '.srv', '.action')}
    in_contract = ({f'msg/{n}' for n in MSG} | {f'srv/{n}' for n in SRV}
                   | {f'action/{n}' for n in ACTION})
    assert on_disk == in_contract


@pytest.mark.parametrize('label,cls', [(p[0], p[1]) for p in PARTS
                                       if p[0].endswith(('.Response', '.Result'))])
def test_when_response_or_result_expect_typed_outcome_fields(label, cls):
    fields = cls.get_fields_and_field_types()
    assert {k: fields.get(k) for k in OUTCOME_FIELDS} == OUTCOME_FIELDS
    outcomes = {k: v for k, v in _constants(cls).items() if k.startswith('OUTCOME_')}
    assert 'OUTCOME_SUCCEEDED' in outcomes, f'{label} defines no outcome constants'
    for key, value in outcomes.items():
        assert Outcome[key.removeprefix('OUTCOME_')] == value, f'{label}.{key}'


@pytest.mark.parametrize('label,expected', sorted(CONSTANTS.items()))
def test_when_constants_required_expect_defined_with_unique_values(label, expected):
    constants = _constants(dict((p[0], p[1]) for p in PARTS)[label])
    assert {k: constants.get(k) for k in expected} == expected
    for prefix in {k.split('_')[0] for k in constants}:
        group = [v for k, v in constants.items() if k.split('_')[0] == prefix]
        assert len(group) == len(set(group)), f'{label}: duplicate {prefix}_* values'


def test_when_error_codes_registry_compared_expect_identical_to_core_enum():
    from bb_msgs.msg import ErrorCodes
    registry = _constants(ErrorCodes)
    assert registry == {e.name: e.value for e in ErrorCode}


def test_when_violation_severity_compared_expect_identical_to_core_enum():
    from bb_msgs.msg import Violation
    got = {k.removeprefix('SEVERITY_'): v for k, v in _constants(Violation).items()}
    assert got == {s.name: s.value for s in Severity}
