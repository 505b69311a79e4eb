"""Golden programs with their expected verdicts (tests/golden/robot/*.bb -> *.json).

Header comments in a program select the set-up: ``# world: FILE`` (tests/golden/worlds),
``# budget: SECONDS``, ``# repair``. Regenerate the expectations after a deliberate change
with ``UPDATE_GOLDEN=1 make test``, and review the diff.
"""

import json
import os
from pathlib import Path
import re

import pytest

from bb_agent.core.check.checker import check_plan, verify_token
from bb_agent.core.check.repair import repair_plan
from bb_agent.core.resources import config_path
from bb_agent.core.schema import load_schema
from bb_agent.core.world import load_world

GOLDEN = Path(__file__).resolve().parents[1] / 'golden'
PROGRAMS = sorted((GOLDEN / 'robot').glob('*.bb'))


def _directives(text: str) -> dict[str, str]:
    return dict(re.findall(r'^# (world|budget|repair):? ?(.*)$', text, re.MULTILINE))


def run_golden(path: Path) -> dict:
    """Return the verdict JSON the golden file pins (token-free: it depends on hashes)."""
    text = path.read_text()
    opts = _directives(text)
    schema = load_schema('robot')
    world = load_world(GOLDEN / 'worlds' / opts['world'] if 'world' in opts
                       else config_path('worlds', 'tabletop.json'))
    budget = float(opts['budget']) if 'budget' in opts else None
    if 'repair' in opts:
        result = repair_plan(text, schema, world, budget_s=budget)
        verdict, repairs = result.verdict, [str(r) for r in result.repairs]
    else:
        verdict, repairs = check_plan(text, schema, world, budget_s=budget), []
    if verdict.approved:
        assert verify_token(verdict.token, verdict.canonical, schema, world)
    out = verdict.to_dict()
    del out['token']
    out['repairs'] = repairs
    return out


def test_when_golden_set_counted_expect_at_least_40_with_every_violation_class():
    from bb_agent.core.check.violations import Code
    assert len(PROGRAMS) >= 40
    seen = {v['code'] for p in PROGRAMS if p.with_suffix('.json').exists()
            for v in json.loads(p.with_suffix('.json').read_text())['violations']}
    assert {c.name for c in Code if c.name.startswith('E_')} <= seen


@pytest.mark.parametrize('path', PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_when_golden_program_checked_expect_pinned_verdict(path):
    got = run_golden(path)
    expected_file = path.with_suffix('.json')
    if os.environ.get('UPDATE_GOLDEN') == '1':
        expected_file.write_text(json.dumps(got, indent=2, ensure_ascii=False) + '\n')
    expected = json.loads(expected_file.read_text())
    assert got == expected
    # The file name states the intent; the verdict must agree with it.
    assert got['approved'] == (path.stem.split('_', 2)[1] == 'ok'
                               or (path.stem.split('_', 2)[1] == 'repair'
                                   and got['approved']))


@pytest.mark.parametrize('stem,expected', [
    ('01_ok_pick_place', True),  # approved
    ('42_bad_speed_limit', True),  # well formed, unsafe: the checker's reasons reach the user
    ('54_bad_place_target_near_human', True),
    ('25_bad_unknown_object', False),  # malformed: the builder falls back
    ('24_bad_arg_range', False),
])
def test_when_builder_prechecks_a_plan_expect_only_malformed_plans_to_fall_back(stem, expected):
    from bb_agent.core.check.violations import Code, Severity, Violation, well_formed
    got = json.loads((GOLDEN / 'robot' / f'{stem}.json').read_text())
    violations = [Violation(Code[v['code']], v['node_id'], v['message'],
                            Severity[v['severity']]) for v in got['violations']]
    assert well_formed(got['approved'], violations) is expected
