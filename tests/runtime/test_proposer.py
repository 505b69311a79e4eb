"""The builder's fallback chain and the robot grounding check (pure logic)."""

import pytest

from bb_agent.core.outcomes import ErrorCode
from bb_agent.core.resources import config_path
from bb_agent.core.world import load_world
from bb_agent.domains.proposer import Proposer, Source
from bb_agent.domains.robot.grounding import grounding_question

WORLD = load_world(config_path('worlds', 'tabletop.json'))


@pytest.mark.parametrize('request_text,asks', [
    ('Put the red cup in bin A.', None),
    ('Pick up the cup.', None),  # one cup in the world: not ambiguous
    ('Put the purple jar in bin A.', 'I do not see a purple jar'),
    ('Do the usual thing with that stuff over there.', 'which object'),
    ('Look around, then go home.', None),
])
def test_when_request_is_grounded_or_not_expect_question_only_when_not(request_text, asks):
    question = grounding_question(request_text, WORLD)
    assert (question is None) if asks is None else asks in question


class Model:
    def __init__(self, outcome='ok', program='s1 = home();\n', confidence=0.95):
        self.answer, self.calls = (outcome, program, confidence), 0

    def __call__(self, domain, request, context):
        self.calls += 1
        return self.answer


SCAN = 's1 = scan(region=all);\n'


@pytest.mark.parametrize('model,source,deferred', [
    (Model(), Source.MODEL, False),
    (Model(confidence=0.5), Source.NONE, True),  # under robot's 0.9: ask instead
    (Model(outcome='timeout'), Source.TEMPLATE, False),  # 'go home' has a template
    (Model(program=SCAN), Source.TEMPLATE, False),  # the model's plan fails the pre-check
    (None, Source.TEMPLATE, False),  # no model at all
])
def test_when_chain_runs_expect_the_first_usable_link(model, source, deferred):
    proposal = Proposer(model, lambda d, p: p != SCAN).propose('robot', 'please go home')
    assert proposal.ok and proposal.source is source and proposal.deferred is deferred


HOME = 's1 = home();\n'


@pytest.mark.parametrize('first,second,source,tier,deferred,second_calls', [
    (Model(), Model(), Source.MODEL, '', False, 0),  # the fast tier stands: no escalation
    (Model(confidence=0.5), Model(), Source.MODEL, 'escalated', False, 1),  # unsure
    (Model(program=SCAN), Model(), Source.MODEL, 'escalated', False, 1),  # pre-check failed
    (Model(outcome='timeout'), Model(), Source.MODEL, 'escalated', False, 1),
    (Model(program='s1 = open_gripper();\n'), Model(), Source.MODEL, 'escalated', False, 1),
    # the second tier falls short too: the first tier's own fallback answers
    (Model(confidence=0.5), Model(confidence=0.4), Source.NONE, '', True, 1),
    (Model(program=SCAN), Model(program=SCAN), Source.TEMPLATE, '', False, 1),
])
def test_when_fast_tier_falls_short_expect_escalation_under_the_same_checks(
        first, second, source, tier, deferred, second_calls):
    def conform(domain, request, program, context):  # the gate: "go home" means home()
        return (program == HOME, 'which?', 'not asked for')
    proposal = Proposer(first, lambda d, p: p != SCAN, conform=conform,
                        escalate=second).propose('robot', 'please go home')
    assert proposal.ok and proposal.source is source and proposal.tier == tier
    assert proposal.deferred is deferred and second.calls == second_calls
    if tier:
        assert proposal.program == HOME and proposal.message.startswith('escalated (')


def test_when_violations_repeat_expect_template_mode_for_the_cooldown():
    now = [0.0]
    model = Model()
    proposer = Proposer(model, lambda d, p: p == 's1 = home();\n' and model.calls > 99,
                        breaker_violations=5, breaker_cooldown_s=60.0, clock=lambda: now[0])
    for _ in range(5):
        proposer.propose('robot', 'please go home')
    assert model.calls == 5
    proposer.propose('robot', 'please go home')
    assert model.calls == 5  # breaker open: the model is not asked
    now[0] = 61.0
    proposer.propose('robot', 'please go home')
    assert model.calls == 6


@pytest.mark.parametrize('domain,text,code', [('garden', 'water', ErrorCode.UNKNOWN_DOMAIN),
                                              ('robot', '  ', ErrorCode.EMPTY_INPUT)])
def test_when_request_is_invalid_expect_typed_error(domain, text, code):
    proposal = Proposer(None, lambda d, p: True).propose(domain, text)
    assert not proposal.ok and proposal.error_code is code


@pytest.mark.parametrize('domain,request_text,program', [
    ('robot', 'go home', 's1 = home();\n'),
    ('robot', 'Robot, please go back home now!', 's1 = home();\n'),
    ('robot', 'Could you look around?', 's1 = scan(region=all);\n'),
    # a template covering part of a request never answers for all of it
    ('robot', 'Put the red cup in bin A, then go home.', None),
    ('robot', 'look around and pick up the cup', None),
    ('robot', 'Go home at 5 m/s', None),
    ('api_json', 'where is order 42?', '{"endpoint": "get_order_status", "args": '
                                        '{"order_id": 42}}'),
    ('api_json', 'status of order 42 and cancel order 43', None),
])
def test_when_a_template_matches_part_of_a_request_expect_no_template_answer(
        domain, request_text, program):
    from bb_agent.domains.templates import template_program
    assert template_program(domain, request_text) == program


@pytest.mark.parametrize('request_text,question', [
    ('Pick up the red cup as fast as you can.', None),  # "can" is the verb here
    ('Can you pick up the red cup?', None),
    ('Pick up the can.', 'I do not see a can'),  # and the noun here
])
def test_when_a_request_uses_can_expect_the_question_only_for_the_noun(request_text, question):
    from bb_agent.core.resources import config_path
    from bb_agent.core.world import load_world
    from bb_agent.domains.robot.grounding import grounding_question
    got = grounding_question(request_text, load_world(config_path('worlds', 'tabletop.json')))
    assert (got is None) if question is None else question in got


@pytest.mark.parametrize('text,taken', [
    ('yes', True), ('Yes, go ahead.', True), ('ok do it', True), ('sure!', True),
    ('yes and also push the ball', False), ('no', False), ('put it in bin B', False),
])
def test_when_an_offer_is_answered_expect_only_an_affirmative_to_take_it(text, taken):
    from bb_agent.core.requests import Confirmations
    offers = Confirmations(ttl_s=10.0)
    offers.offer('me', 's', 'PLAN')
    assert (offers.take('me', 's', text) == 'PLAN') is taken
    assert offers.take('me', 's', 'yes') is None  # one answer per offer


def test_when_an_offer_is_old_or_from_another_session_expect_nothing_taken():
    from bb_agent.core.requests import Confirmations
    now = [0.0]
    offers = Confirmations(ttl_s=10.0, clock=lambda: now[0])
    offers.offer('me', 's', 'PLAN')
    assert offers.take('me', 'other', 'yes') is None
    assert offers.take('you', 's', 'yes') is None
    now[0] = 11.0
    assert offers.take('me', 's', 'yes') is None
