"""The chat door end to end: a real XMPP server (prosody), the whole stack, real clients.

Users log in to prosody on loopback with slixmpp and message the bridge's account; the
bridge runs every message through the agent (robot requests through the checker and the
gate, as dry runs for users without the right to move) and answers in the chat.
"""

import queue

import pytest

from bench.peers import XmppUser
from tests.ros.xmpp_server import prosody, prosody_or_skip

prosody_or_skip()
pytestmark = pytest.mark.ros
ACCOUNTS = {'bridge': 'bridge-pw', 'alice': 'alice-pw', 'op': 'op-pw'}
REPLY_S = 60.0


def ChatUser(user: str, port: int) -> XmppUser:  # noqa: N802 (reads as the class it makes)
    """Log ``user`` in to the test server."""
    return XmppUser(f'{user}@localhost/test', ACCOUNTS[user], port)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    with prosody(tmp_path_factory.mktemp('xmpp'), ACCOUNTS) as xmpp:
        yield xmpp


@pytest.fixture(scope='module')
def stack(approval_key, supervised, server, tmp_path_factory):
    secret = tmp_path_factory.mktemp('chat') / 'password'
    secret.write_text(ACCOUNTS['bridge'])
    secret.chmod(0o600)
    return supervised({
        'chat_bridge': {'jid': 'bridge@localhost', 'password_file': str(secret),
                        'server_port': server.port, 'allow_plaintext': True,
                        'execute_users': 'op@localhost', 'rate_per_s': 0.2, 'burst': 4},
        'builder': {'timeout_s': 0.05},  # the template answers: the replies are known
        'sim_robot': {'time_scale': 4.0}, 'http_bridge': {'port': 0}})


@pytest.fixture(scope='module')
def users(stack, server):
    made = {name: ChatUser(name, server.port) for name in ('alice', 'op')}
    yield made
    for u in made.values():
        u.close()


@pytest.mark.parametrize('user,text,needle', [
    ('alice', 'bob says thanks', '@bob you are welcome!'),     # chat: the social domain
    ('alice', 'go home', 'nothing moved'),                      # no right to move: dry run
    ('op', 'go home', 'Done.'),                                 # an operator's request runs
    ('alice', 'x' * 5000, 'at most 1000'),                      # refused before the agent
])
def test_when_a_user_messages_the_bridge_expect_the_agents_answer_in_the_chat(
        users, user, text, needle):
    assert needle in users[user].ask(text)


def test_when_a_user_floods_expect_told_to_slow_down_and_every_message_answered(users):
    alice = users['alice']
    for i in range(6):
        alice.send(f'bob says thanks {i}')
    replies = [alice.replies.get(timeout=REPLY_S) for _ in range(6)]
    assert any('too fast' in r for r in replies), replies
    assert all(r for r in replies)


def test_when_the_server_goes_down_and_back_expect_the_bridge_to_log_in_again(server, users):
    server.restart(down_s=1.0)
    bob = ChatUser('op', server.port)  # a fresh login (the old session died with it)
    try:
        deadline = 20.0
        reply = None
        while reply is None and deadline > 0:  # the bridge retries every 2 s
            try:
                reply = bob.ask('bob says thanks', timeout=4.0)
            except queue.Empty:
                deadline -= 4.0
        assert reply is not None and 'welcome' in reply
    finally:
        bob.close()
