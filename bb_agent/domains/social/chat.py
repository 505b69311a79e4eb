"""The chat door's policy: admission, routing, sessions and what a reply may say.

Pure Python; ``chat_bridge_node`` wires it to XMPP. One message is judged in this order:

1. admission: empty messages are ignored; text longer than ``max_chars`` is refused, and
   control characters other than newlines and tabs are dropped (never passed on); each
   user has a token bucket (``rate_per_s``, ``burst``), and a user over it is told when to
   come back;
2. routing: a message that names a robot skill other than speech (the robot schema's
   lexicon, the same one the intent gate reads) or asks the robot to stop goes to the
   ``robot`` domain, through the same checker and gate as every other door; anything
   else is chat (``social``);
3. sessions: one per user and room (``xmpp:<room or direct>:<user>``), so no context is
   shared across users (002 section 3);
4. rights: a robot request from a user not in ``execute_users`` is a dry run (planned and
   checked, nothing moves), and the reply says so;
5. replies: the agent's answer is turned into text and filtered (``config/chat/
   content.yaml``: blocked patterns, a length cap); a blocked reply is replaced by the
   refusal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import re
import unicodedata

import yaml

from bb_agent.core.api_access import RateLimiter
from bb_agent.core.intent.anchors import stop_words
from bb_agent.core.intent.request import parse_request
from bb_agent.core.resources import config_path
from bb_agent.core.schema import DomainSchema


@dataclass(frozen=True)
class ChatRequest:
    """One admitted message, ready to become a HandleRequest."""

    text: str
    domain: str  # 'robot' or 'social'
    actor_id: str  # the user's bare JID
    session_id: str
    dry_run: bool


@dataclass(frozen=True)
class ContentFilter:
    """Blocked reply patterns and a length cap (``config/chat/content.yaml``)."""

    blocked: tuple[re.Pattern, ...]
    refusal: str
    max_chars: int

    @classmethod
    def load(cls, path: Path | None = None) -> ContentFilter:
        """Load the filter file (default: the shipped ``config/chat/content.yaml``)."""
        doc = yaml.safe_load(Path(path or config_path('chat', 'content.yaml')).read_text())
        return cls(tuple(re.compile(p, re.IGNORECASE) for p in doc.get('blocked', ())),
                   str(doc['refusal']), int(doc['max_reply_chars']))

    def screen(self, text: str) -> tuple[str, bool]:
        """Return (the text to send, whether it passed) for a reply."""
        flat = unicodedata.normalize('NFKC', text)
        if any(p.search(flat) for p in self.blocked):
            return self.refusal, False
        if len(text) > self.max_chars:
            return text[:self.max_chars - 1] + '…', True
        return text, True


def clean_text(text: str) -> str:
    """Return ``text`` without control characters (newlines and tabs kept), stripped."""
    return ''.join(c for c in text if c in '\n\t' or unicodedata.category(c)[0] != 'C').strip()


class ChatPolicy:
    """See the module docstring."""

    def __init__(self, robot: DomainSchema, *, max_chars: int = 1000, rate_per_s: float = 0.5,
                 burst: int = 5, execute_users: frozenset[str] = frozenset(),
                 content: ContentFilter | None = None) -> None:
        self.robot, self.max_chars = robot, max_chars
        self.rate = RateLimiter(rate_per_s, burst)
        self.execute_users = execute_users
        self.content = content or ContentFilter.load()

    def admit(self, user: str, room: str, body: str, now: float) -> ChatRequest | str | None:
        """Return the request, a refusal to send back, or None (nothing to answer)."""
        text = clean_text(body)
        if not text:
            return None
        if len(text) > self.max_chars:
            return f'That message is {len(text)} characters; I read at most {self.max_chars}.'
        wait = self.rate.take(user, now)
        if wait:
            return f'You are sending messages too fast; try again in {wait:g} s.'
        domain = self.route(text)
        return ChatRequest(text, domain, user, f'xmpp:{room or "direct"}:{user}',
                           dry_run=domain == 'robot' and user not in self.execute_users)

    def route(self, text: str) -> str:
        """Return 'robot' when the text names a robot skill or asks to stop, else 'social'."""
        lex = self.robot.lexicon
        if lex is None:
            return 'social'
        skills = parse_request(text, lex).named_skills()
        # "bob says thanks" is chat: a speech skill alone does not make a robot request
        if stop_words(text, lex) or any(self.robot.skills[s].motion != 'speech'
                                        for s in skills if s in self.robot.skills):
            return 'robot'
        return 'social'

    def reply(self, request: ChatRequest, result: dict) -> str:
        """Return the filtered reply text for the agent's ``result`` (``result_dict``)."""
        outcome, why = result.get('outcome', 'FAILED'), result.get('error_msg', '')
        if result.get('deferred') or outcome == 'DEFERRED':
            text = result.get('question') or why or 'Could you say that another way?'
        elif request.domain == 'social':
            text = result.get('program', '').strip() if outcome == 'SUCCEEDED' else \
                f'I cannot answer that right now ({outcome.lower()}).'
        elif outcome == 'SUCCEEDED' and request.dry_run:
            plan = ' '.join(result.get('program', '').split())
            text = (f'I could do that ({plan}), but you may not move the robot from chat: '
                    'nothing moved.')
        elif outcome == 'SUCCEEDED':
            text = 'Done.'
        else:
            text = f'I did not do that ({outcome.lower()}): {why}'.rstrip(': ')
        return self.content.screen(text)[0]
