"""Grammars and domain schemas agree: the schema's allowlist is the grammar's vocabulary."""

import json
import re

import lark
import llguidance
import pytest

from bb_agent.core.dsl.grammar import llguidance_text, load_grammar, specialise
from bb_agent.core.dsl.json_grammar import endpoint_grammar
from bb_agent.core.outcomes import BBError
from bb_agent.core.schema import COMPUTED_PREDICATES, load_schema, schema_from_file

DOMAINS = ['robot', 'api_json', 'phone', 'social']


def _lark(text):
    return lark.Lark(text, parser='lalr')


def _accepts(parser, text):
    try:
        parser.parse(text)
        return True
    except lark.exceptions.LarkError:
        return False


@pytest.mark.parametrize('domain', DOMAINS)
def test_when_domain_loaded_expect_grammar_compiles_in_lark_and_llguidance(domain,
                                                                          small_tokenizer):
    schema = load_schema(domain)
    grammar = load_grammar(schema.grammar)
    _lark(grammar.text)
    if grammar.vocab_keys:
        grammar = specialise(grammar, schema.vocabulary())
        _lark(grammar.text)
    error = llguidance.LLMatcher.validate_grammar(
        llguidance.LLMatcher.grammar_from_lark(llguidance_text(grammar)), small_tokenizer)
    assert error == '', error


@pytest.fixture(scope='module')
def robot():
    schema = load_schema('robot')
    return schema, _lark(specialise(load_grammar('robot_dsl'), schema.vocabulary()).text)


def test_when_robot_grammar_specialised_expect_vocabulary_equals_schema(robot):
    schema, _ = robot
    text = specialise(load_grammar('robot_dsl'), schema.vocabulary()).text
    rules = {m.group(1): set(json.loads(f'[{m.group(2).replace(" | ", ",")}]'))
             for m in re.finditer(r'^(\w+): (".*?")  // @vocab', text, re.MULTILINE)}
    assert rules['skill_name'] == set(schema.skills)
    assert rules['arg_name'] == {a for s in schema.skills.values() for a in s.args}
    assert rules['pred_name'] == set(schema.predicates) | COMPUTED_PREDICATES


def test_when_every_schema_skill_and_arg_written_expect_specialised_grammar_accepts(robot):
    schema, parser = robot
    for name, skill in schema.skills.items():
        args = ', '.join(f'{a}=x' for a in skill.args)
        assert _accepts(parser, f's1 = {name}({args});'), name


@pytest.mark.parametrize('text', ['s1 = fly();', 's1 = pick(colour=red);',
                                  'if sky_is_blue { s1 = home(); }', 's1 = if();'])
def test_when_name_outside_allowlist_expect_specialised_grammar_rejects(robot, text):
    _, parser = robot
    assert not _accepts(parser, text)
    # The generic grammar (the checker's) still parses it, so the checker can say precisely
    # what is wrong instead of reporting a syntax error.
    assert _accepts(_lark(load_grammar('robot_dsl').text), text)


def test_when_phone_grammar_read_expect_its_actions_equal_the_schema_skills():
    text = load_grammar('phone_callflow').text
    block = re.search(r'^\?action:(.*?)^\n', text, re.MULTILINE | re.DOTALL).group(1)
    actions = set(re.findall(r'\b([a-z]+)\b', block)) - {'branch'}
    assert actions == set(load_schema('phone').skills)
    for action in actions:
        assert f'"{action}"' in text


@pytest.mark.parametrize('endpoint', sorted(load_schema('api_json').skills))
def test_when_endpoint_grammar_built_expect_it_accepts_a_schema_request_only(endpoint):
    schema = load_schema('api_json')
    parser = _lark(endpoint_grammar(schema, endpoint).text)
    sample = {'string': '"t"', 'integer': '7', 'number': '1.5', 'bool': 'true'}
    spec = schema.skills[endpoint]
    required = [(n, a) for n, a in spec.args.items() if a.required]
    args = ', '.join(f'"{n}": {json.dumps(a.values[0]) if a.type == "enum" else sample[a.type]}'
                     for n, a in required)
    assert _accepts(parser, f'{{"endpoint": "{endpoint}", "args": {{{args}}}}}')
    assert not _accepts(parser, f'{{"endpoint": "nope", "args": {{{args}}}}}')
    if required:
        assert not _accepts(parser, f'{{"endpoint": "{endpoint}", "args": {{}}}}')


@pytest.mark.parametrize('text,needle', [
    ('domain: robot\n', 'version'),
    ('domain: x\nversion: 1\ngrammar: g\nbudget_s: 1\nmax_repeat: 1\nmax_nodes: 1\n'
     'skills: {}\ncolour: red\n', 'colour'),
    ('domain: x\nversion: 1\ngrammar: g\nbudget_s: 1\nmax_repeat: 1\nmax_nodes: 1\n'
     'skills:\n  a: {description: d, duration_s: 1, timeout_s: 1, max_timeout_s: 1,\n'
     '      resources: [arm]}\n', 'unknown resource'),
    ('domain: x\nversion: 1\ngrammar: g\nbudget_s: 1\nmax_repeat: 1\nmax_nodes: 1\n'
     'skills:\n  a: {description: d, duration_s: 1, timeout_s: 1, max_timeout_s: 1,\n'
     '      preconditions: [holding(thing)]}\n', 'unknown predicate'),
    ('domain: x\nversion: 1\ngrammar: g\nbudget_s: 1\nmax_repeat: 1\nmax_nodes: 1\n'
     'skills:\n  if: {description: d, duration_s: 1, timeout_s: 1, max_timeout_s: 1}\n',
     'reserved'),
    ('domain: x\nversion: 1\ngrammar: g\nbudget_s: 1\nmax_repeat: 1\nmax_nodes: 1\n'
     'skills:\n  a: {description: d, duration_s: 1, timeout_s: 1, max_timeout_s: 1,\n'
     '      args: {v: {type: number, unit: furlong}}}\n', 'unknown unit'),
    (': : :\n', 'cannot read schema'),
])
def test_when_schema_invalid_expect_typed_error_naming_file_and_key(tmp_path, text, needle):
    path = tmp_path / 'bad.yaml'
    path.write_text(text)
    with pytest.raises(BBError) as info:
        schema_from_file(path)
    assert needle in info.value.message and str(path) in info.value.message
