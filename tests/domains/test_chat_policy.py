"""The chat door's policy: admission, routing, rights, sessions and the reply filter."""

import pytest

from bb_agent.core.schema import load_schema
from bb_agent.domains.social.chat import ChatPolicy, ChatRequest, clean_text

ROBOT = load_schema('robot')


@pytest.fixture
def policy():
    return ChatPolicy(ROBOT, max_chars=200, rate_per_s=1.0, burst=2,
                      execute_users=frozenset({'op@localhost'}))


@pytest.mark.parametrize('text,domain', [
    ('Put the red cup in bin A.', 'robot'),
    ('could you pick up the blue block?', 'robot'),
    ('STOP!', 'robot'),                        # a stop goes to the robot, whatever else
    ('hello there, how are you?', 'social'),
    ('what a lovely day', 'social'),
    ('bob says thanks', 'social'),             # speech alone is not a robot request
    ('look around', 'robot'),
])
def test_when_a_message_arrives_expect_robot_requests_routed_to_the_robot_domain(
        policy, text, domain):
    assert policy.route(text) == domain


def test_when_a_user_may_not_move_expect_a_dry_run_and_sessions_per_user_and_room(policy):
    guest = policy.admit('guest@localhost', '', 'Put the red cup in bin A.', 0.0)
    op = policy.admit('op@localhost', 'lab@conference.localhost', 'Put the red cup in bin A.',
                      0.0)
    assert guest.dry_run and not op.dry_run
    assert guest.session_id == 'xmpp:direct:guest@localhost'
    assert op.session_id == 'xmpp:lab@conference.localhost:op@localhost'
    assert not policy.admit('guest@localhost', '', 'hi', 0.1).dry_run  # chat never moves


@pytest.mark.parametrize('body,expect', [
    ('', None), ('   \n', None),                                  # nothing to answer
    ('x' * 201, 'at most 200'),                                    # too long: told, not read
])
def test_when_a_message_is_empty_or_huge_expect_ignored_or_refused(policy, body, expect):
    got = policy.admit('u@localhost', '', body, 0.0)
    assert got is None if expect is None else (isinstance(got, str) and expect in got)


def test_when_a_user_floods_expect_refusals_for_that_user_only(policy):
    got = [policy.admit('flood@localhost', '', f'hello {i}', 0.0) for i in range(4)]
    assert [isinstance(g, ChatRequest) for g in got] == [True, True, False, False]
    assert 'too fast' in got[2]
    assert isinstance(policy.admit('calm@localhost', '', 'hello', 0.0), ChatRequest)
    assert isinstance(policy.admit('flood@localhost', '', 'hello', 1.5), ChatRequest)  # refilled


def test_when_text_has_control_characters_expect_them_dropped():
    assert clean_text('hi\x00 the\x1bre\u202e\n\tok ') == 'hi there\n\tok'


@pytest.mark.parametrize('domain,dry,result,needle', [
    ('social', False, {'outcome': 'SUCCEEDED', 'program': '@bob you are welcome!'},
     '@bob you are welcome!'),
    ('social', False, {'outcome': 'SUCCEEDED', 'program': 'you are a fucking idiot'},
     'rather not say'),                                            # the filter
    ('social', False, {'outcome': 'SUCCEEDED', 'program': 'I will k\uff49ll you'},
     'rather not say'),                                  # fullwidth letters: NFKC first
    ('robot', True, {'outcome': 'SUCCEEDED', 'program': 's1 = home();\n'},
     'nothing moved'),
    ('robot', False, {'outcome': 'SUCCEEDED', 'program': 's1 = home();\n'}, 'Done.'),
    ('robot', False, {'outcome': 'REJECTED', 'error_msg': 'E_SPEED_LIMIT s1: too fast'},
     'I did not do that (rejected): E_SPEED_LIMIT'),
    ('robot', False, {'outcome': 'DEFERRED', 'deferred': True,
                      'question': 'Which cup do you mean?'}, 'Which cup do you mean?'),
])
def test_when_the_agent_answers_expect_a_filtered_reply(policy, domain, dry, result, needle):
    request = ChatRequest('x', domain, 'u@localhost', 's', dry)
    assert needle in policy.reply(request, result)
