"""Constrain ``grammars/api_json.lark`` to one endpoint of the api_json schema.

The generated grammar accepts exactly the JSON objects
``{"endpoint": "<name>", "args": {...}}`` whose ``args`` hold the endpoint's required
properties in declaration order, then its optional ones (each may be left out, in order),
with values of the declared types and enum members. It reuses the shared terminals of
``api_json.lark``, so it stays in the lark/llguidance common subset. Ranges are not
grammar-expressible; the bridge validates them after parsing.
"""

from __future__ import annotations

import json
import re

from bb_agent.core.dsl.grammar import Grammar, grammar_from_text, load_grammar
from bb_agent.core.schema import ArgSpec, DomainSchema

_TERMINALS = re.compile(r'^(STRING|NUMBER|WS|_TRAIL):.*$|^%ignore.*$', re.MULTILINE)
INT_TERMINAL = 'INT: /-?(0|[1-9][0-9]*)/'


def _literal(text: str) -> str:
    """Return a lark string literal matching the JSON text ``text`` exactly."""
    return json.dumps(text)


def _value_rule(arg: ArgSpec) -> str:
    if arg.type == 'enum':
        return ' | '.join(_literal(json.dumps(v)) for v in arg.values)
    return {'string': 'STRING', 'object': 'STRING', 'location': 'STRING', 'number': 'NUMBER',
            'integer': 'INT', 'bool': '"true" | "false"', 'pose': 'value'}[arg.type]


def endpoint_grammar(schema: DomainSchema, endpoint: str) -> Grammar:
    """Return the grammar of requests to ``endpoint`` (a skill of ``schema``).

    Raises:
        KeyError: when the endpoint is not in the schema.
    """
    spec = schema.skills[endpoint]
    base = load_grammar(schema.grammar)
    required = [(n, a) for n, a in spec.args.items() if a.required]
    optional = [(n, a) for n, a in spec.args.items() if not a.required]
    rules = []
    pairs = []
    for i, (name, arg) in enumerate(required + optional):
        rule = f'arg_{i}'
        rules.append(f'{rule}: {_literal(json.dumps(name))} ":" ({_value_rule(arg)})')
        pairs.append(rule)
    n_req = len(required)
    if not pairs:
        body = '"{" "}"'
    elif n_req:
        tail = ''.join(f' ("," {r}' for r in pairs[n_req:]) + ')?' * len(pairs[n_req:])
        body = '"{" ' + ' "," '.join(pairs[:n_req]) + tail + ' "}"'
    else:  # all optional: empty, or a prefix of them in order
        chain = pairs[0] + ''.join(f' ("," {r}' for r in pairs[1:]) + ')?' * len(pairs[1:])
        body = f'"{{" [{chain}] "}}"'
    head = (f'start: "{{" {_literal(json.dumps("endpoint"))} ":" '
            f'{_literal(json.dumps(endpoint))} "," {_literal(json.dumps("args"))} ":" args "}}" '
            '_TRAIL?')
    shared = '\n'.join(m.group(0) for m in _TERMINALS.finditer(base.text))
    generic = ('?value: object | array | STRING | NUMBER | "true" | "false" | "null"\n'
               'object: "{" [pair ("," pair)*] "}"\npair: STRING ":" value\n'
               'array: "[" [value ("," value)*] "]"')
    text = '\n'.join([f'// {base.name} constrained to endpoint {endpoint} '
                      f'(base grammar sha256 {base.sha256[:12]})', head, f'args: {body}',
                      *rules, generic, INT_TERMINAL, shared, ''])
    return grammar_from_text(f'{base.name}:{endpoint}', text)
