"""Smaller synthetic data sets for the api_json, phone and social grammars.

Each example is ``{"input", "output"}``; every output is parsed with its grammar before it
is kept. Skin-shift test sets use held-out templates.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import random

NAMES = ('Ada', 'Bo', 'Cy', 'Dee', 'Eli', 'Fay')
TOPICS = ('printer offline', 'refund request', 'login fails', 'late delivery', 'broken lid')
REASONS = ('changed my mind', 'ordered twice', 'found it cheaper', 'wrong size')


def api_example(rng: random.Random, skin: bool) -> dict:
    """Return an API request in words and the endpoint call as JSON."""
    kind = rng.choice(('create_ticket', 'get_order_status', 'cancel_order'))
    order = rng.randint(1000, 99999)
    if kind == 'create_ticket':
        topic, prio, cust = rng.choice(TOPICS), rng.choice(('low', 'normal', 'high')), order
        text = rng.choice([f'open a {prio} priority ticket "{topic}" for customer {cust}'] if
                          not skin else [f'customer {cust} needs help: "{topic}" ({prio})'])
        args = {'title': topic, 'priority': prio, 'customer_id': cust}
    elif kind == 'get_order_status':
        text = rng.choice([f'where is order {order}', f'status of order {order}'] if not skin
                          else [f'any news on my parcel {order}?'])
        args = {'order_id': order}
    else:
        reason = rng.choice(REASONS)
        text = (f'cancel order {order} because I {reason}' if not skin else
                f'please drop order {order}, I {reason}')
        args = {'order_id': order, 'reason': f'I {reason}'}
    return {'input': text, 'output': json.dumps({'endpoint': kind, 'args': args})}


def phone_example(rng: random.Random, skin: bool) -> dict:
    """Return a call-flow request in words and its call flow."""
    name, digits = rng.choice(NAMES), rng.choice((4, 6))
    kind = rng.choice(('greet_gather', 'transfer', 'menu'))
    if kind == 'greet_gather':
        text = (f'greet the caller as {name} and collect a {digits} digit PIN' if not skin
                else f'say hi to {name}, then ask for their {digits}-digit code')
        out = f'say "Hello {name}." voice=friendly;\ngather digits={digits} -> pin;\n'
    elif kind == 'transfer':
        text = ('tell the caller to hold, then transfer to sales' if not skin
                else 'put them through to sales after a short hold')
        out = 'say "Please hold." voice=calm;\nhold 5 s music=default;\ntransfer to "sales";\n'
    else:
        text = (f'ask {name} to press 1 for support or hang up' if not skin
                else f'{name} gets a menu: 1 means support, anything else ends the call')
        out = (f'say "Hi {name}, press 1 for support." voice=friendly;\n'
               'gather digits=1 -> choice;\nif choice == "1" {\n  transfer to "support";\n'
               '} else {\n  hangup;\n}\n')
    return {'input': text, 'output': out}


def social_example(rng: random.Random, skin: bool) -> dict:
    """Return a chat message and a short reply."""
    name = rng.choice(NAMES).lower()
    kind = rng.choice(('thanks', 'status', 'link'))
    if kind == 'thanks':
        text = f'{name} says thanks for the help' if not skin else f'{name} is grateful'
        out = f'@{name} you are welcome!'
    elif kind == 'status':
        text = f'{name} asks if the robot is busy' if not skin else f'is the bot free, {name}?'
        out = f'@{name} the robot is idle right now #status'
    else:
        text = f'{name} wants the manual' if not skin else f'{name} needs the docs'
        out = f'@{name} see https://example.org/manual #help'
    return {'input': text, 'output': out}


GENERATORS: dict[str, tuple[str, Callable[[random.Random, bool], dict]]] = {
    'api_json': ('api_json', api_example),
    'phone': ('phone_callflow', phone_example),
    'social': ('social', social_example),
}
