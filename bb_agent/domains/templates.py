"""The fallback chain's second and third links: domain templates and deferral questions.

A template is a pattern over the request and the program it writes; templates cover the
requests that are safe to answer without the model (go home, look, say, order status,
transfer, thanks). When no template matches, the builder defers with the domain's
clarification question. Every template program is checked like any other plan.
"""

from __future__ import annotations

from dataclasses import dataclass
import json
import re


@dataclass(frozen=True)
class Template:
    """``pattern`` (case-insensitive regex) -> ``program`` (str.format with the groups)."""

    pattern: str
    program: str
    words: str = ''  # regex of the template's own words that may lie outside the match


TEMPLATES: dict[str, tuple[Template, ...]] = {
    'robot': (
        Template(r'\bsay\s+"([^"\\]{1,80})"', 's1 = say(text="{0}");\n'),
        Template(r'\b(?:go|move|return)\s+(?:back\s+)?home\b|\bsafe pose\b',
                 's1 = home();\n'),
        Template(r'\b(?:look around|scan|look at everything)\b', 's1 = scan(region=all);\n'),
    ),
    'api_json': (
        Template(r'\border\s+(\d{1,9})\b.*?\b(?:status|where)\b|\b(?:status|where)\b.*?'
                 r'\border\s+(\d{1,9})\b', '{{"endpoint": "get_order_status", "args": '
                                            '{{"order_id": {0}}}}}',
                 words=r'\b(?:is|my|what|where|status|of|about|me|tell)\b'),
    ),
    'phone': (
        Template(r'\btransfer\b.*\bto\s+(sales|support|billing)\b',
                 'say "Please hold." voice=calm;\ntransfer to "{0}";\n',
                 words=r'\b(?:me|us|please|i want|i would like|to be)\b'),
    ),
    'social': (
        Template(r'^(\w{1,20})\s+says\s+thanks', '@{0} you are welcome!'),
    ),
}

QUESTIONS = {
    'robot': 'Which object should I act on, and where should it go?',
    'api_json': 'Which endpoint do you mean, and for which order or customer id?',
    'phone': 'Should I transfer the caller, take a message, or keep them on hold?',
    'social': 'Could you tell me a bit more about what you would like me to say?',
}


# Words a request may carry around a template's own words and still ask only for it.
_FILLER = re.compile(r"\b(?:please|kindly|now|just|robot|hey|ok(?:ay)?|thanks?|thank you|"
                     r"could|can|would|will|you|for me|the)\b|[\s.,!?;:'-]+", re.IGNORECASE)


def _covers(match: re.Match, request: str, words: str = '') -> bool:
    """Return True when ``match`` is the whole request, but for politeness and punctuation.

    A template that covers part of a request ("Put the red cup in bin A, then go home.")
    must never answer for the whole of it: the rest would silently not happen.
    """
    rest = request[:match.start()] + ' ' + request[match.end():]
    if words:
        rest = re.sub(words, ' ', rest, flags=re.IGNORECASE)
    return not _FILLER.sub('', rest).strip()


def template_program(domain: str, request: str) -> str | None:
    """Return the program of the first template that covers all of ``request``, or None."""
    for t in TEMPLATES.get(domain, ()):
        match = re.search(t.pattern, request, re.IGNORECASE)
        if match and _covers(match, request, t.words):
            groups = [g for g in match.groups() if g is not None]
            return t.program.format(*(g.lower() if domain != 'robot' or i else g
                                      for i, g in enumerate(groups)))
    return None


def clarification(domain: str, request: str) -> str:
    """Return the question to ask when the builder defers on ``request``."""
    base = QUESTIONS.get(domain, 'Could you say more about what you need?')
    return f'I am not sure how to do "{request[:80]}" safely. {base}'


def is_json(text: str) -> bool:
    """Return True when ``text`` is a JSON document (api_json programs)."""
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
