"""chat_bridge_node: the chat door over XMPP (slixmpp); each message may become a request.

The bridge logs in as ``jid`` to an XMPP server and answers direct messages (``chat``).
:class:`~bb_agent.domains.social.chat.ChatPolicy` decides what a message is: refused (too
long, too fast), chat (``social`` domain: soft decoding, deferral 0.6 in the builder) or a
robot request (``robot`` domain, through the same checker and intent gate as every door;
a dry run unless the sender is in ``execute_users``). Each becomes one ``handle_request``
with a session per user and room; the reply is filtered before it is sent. At most
``max_in_flight`` requests run at once; more are answered "busy", not queued. A server
that is down or drops the bridge is retried with backoff (slixmpp's reconnect); requests
are never lost silently: each message gets an answer or a logged refusal.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
import threading
import time

import rclpy
from rclpy.action import ActionClient
from rclpy.node import Node

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.schema import load_schema
from bb_agent.domains.social.chat import ChatPolicy, ChatRequest
from bb_agent.nodes.goal_client import send_goal
from bb_agent.nodes.lifecycle import clean_exit, ros_init, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.params import Param, declare
from bb_msgs.action import HandleRequest

PARAMS = (
    Param('jid', '', 'the bridge\'s XMPP account, e.g. robot@example.org ("" = off)'),
    Param('password_file', '', "file holding the account's password"),
    Param('server_host', '127.0.0.1', 'XMPP server address'),
    Param('server_port', 5222, 'XMPP client port', 1, 65535),
    Param('allow_plaintext', False, 'log in without TLS (only for a loopback test server)'),
    Param('execute_users', '', 'comma-separated bare JIDs whose robot requests may move it; '
                               "others' are dry runs"),
    Param('max_chars', 1000, 'longest message read (characters)', 1, 100000),
    Param('rate_per_s', 0.5, 'messages per second per user (token bucket)', 0.001, 1000.0),
    Param('burst', 5, 'messages a user may send at once', 1, 10000),
    Param('max_in_flight', 4, 'requests handled at once; more are answered "busy"', 1, 64),
    Param('request_timeout_s', 120.0, 'no agent result in this long answers "timeout" (s)',
          1.0, 3600.0),
)


RECONNECT_S = 2.0  # wait before logging in again after the server dropped the bridge


class ChatBridgeNode(Node):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__('chat_bridge')
        self.p = declare(self, PARAMS)
        if not self.p['jid'] or not self.p['password_file']:
            raise BBError(ErrorCode.INVALID_ARGUMENT, 'chat_bridge needs jid and password_file')
        password = Path(self.p['password_file']).read_text().strip()
        self.policy = ChatPolicy(load_schema('robot'), max_chars=self.p['max_chars'],
                                 rate_per_s=self.p['rate_per_s'], burst=self.p['burst'],
                                 execute_users=frozenset(
                                     u.strip() for u in self.p['execute_users'].split(',')
                                     if u.strip()))
        self.client = ActionClient(self, HandleRequest, 'handle_request')
        self.pool = ThreadPoolExecutor(self.p['max_in_flight'], thread_name_prefix='chat')
        self.in_flight = threading.BoundedSemaphore(self.p['max_in_flight'])
        self.loop = asyncio.new_event_loop()
        self.closing = threading.Event()
        self.xmpp = _client(self.p['jid'], password, self.p['allow_plaintext'], self._message,
                            self.get_logger(), self.loop,
                            (self.p['server_host'], self.p['server_port']), self.closing)
        self.thread = threading.Thread(target=self._run_loop, name='xmpp', daemon=True)
        self.thread.start()

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.xmpp.connect(self.p['server_host'], self.p['server_port'])
        self.loop.run_forever()

    def _send(self, to: str, text: str) -> None:
        """Send ``text`` to ``to`` from any thread (on the XMPP loop)."""
        self.loop.call_soon_threadsafe(
            lambda: self.xmpp.send_message(mto=to, mbody=text, mtype='chat'))

    def _message(self, msg) -> None:
        """Judge one incoming stanza (on the XMPP loop; never blocks it)."""
        if msg['type'] not in ('chat', 'normal'):
            return  # group chat and errors: not served (see the README)
        user, to = msg['from'].bare, str(msg['from'])
        admitted = self.policy.admit(user, '', msg['body'], time.monotonic())
        if admitted is None:
            return
        if isinstance(admitted, str):
            log_json(self, 'chat_refused', user=user, why=admitted)
            self._send(to, admitted)
            return
        if not self.in_flight.acquire(blocking=False):
            self._send(to, 'I am busy with other requests; please try again shortly.')
            return
        self.pool.submit(self._answer, admitted, to)

    def _answer(self, request: ChatRequest, to: str) -> None:
        try:
            goal = HandleRequest.Goal(text=request.text, domain=request.domain,
                                      actor_id=request.actor_id,
                                      session_id=request.session_id, dry_run=request.dry_run)
            result = send_goal(self.client, goal, self.p['request_timeout_s'],
                               wait_server_s=2.0)
            reply = self.policy.reply(request, result)
            log_json(self, 'chat_request', user=request.actor_id, domain=request.domain,
                     dry_run=request.dry_run, outcome=result['outcome'],
                     correlation_id=result.get('correlation_id', ''))
            self._send(to, reply)
        finally:
            self.in_flight.release()

    def destroy_node(self):
        """Log out and stop the XMPP loop with the node."""
        if getattr(self, 'loop', None) is not None and self.loop.is_running():
            self.closing.set()
            self.loop.call_soon_threadsafe(self.xmpp.disconnect)
            time.sleep(0.2)
            self.loop.call_soon_threadsafe(self.loop.stop)
        if getattr(self, 'pool', None) is not None:
            self.pool.shutdown(wait=False, cancel_futures=True)
        return super().destroy_node()


def _client(jid: str, password: str, plaintext: bool, on_message, logger, loop,
            server: tuple[str, int], closing: threading.Event):
    """Return a slixmpp client bound to ``loop`` that hands messages to ``on_message``.

    A lost connection is retried every ``RECONNECT_S`` until ``closing`` is set.
    """
    import slixmpp
    asyncio.set_event_loop(loop)
    xmpp = slixmpp.ClientXMPP(jid, password)

    async def start(_event):
        xmpp.send_presence()
        await xmpp.get_roster()
        logger.info(f'chat: logged in as {jid}')

    xmpp.add_event_handler('session_start', start)
    xmpp.add_event_handler('message', on_message)
    xmpp.add_event_handler('failed_auth', lambda _e: logger.error(
        f'chat: the server refused the login of {jid}'))
    def lost(_event):
        if not closing.is_set():
            logger.warn(f'chat: disconnected from the XMPP server; retrying in {RECONNECT_S} s')
            loop.call_later(RECONNECT_S, lambda: closing.is_set() or xmpp.connect(*server))

    xmpp.add_event_handler('disconnected', lost)
    if plaintext:  # a loopback test server without certificates
        xmpp.enable_starttls = xmpp.enable_direct_tls = False
        xmpp.enable_plaintext = True
        xmpp.plugin['feature_mechanisms'].unencrypted_plain = True
    return xmpp


@clean_exit
def main(args=None) -> int:
    """Entry point of ``chat_bridge_node``."""
    ros_init(args)
    try:
        node = ChatBridgeNode()
    except (BBError, OSError, ImportError) as exc:
        print(f'chat_bridge: cannot start: {exc}', flush=True)
        rclpy.try_shutdown()
        return 1
    return run_node(node)
