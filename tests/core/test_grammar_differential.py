"""lark and llguidance accept and reject the same strings, for every grammar.

A labelled corpus (hand-written valid strings and near-misses, with the expected answer)
plus systematic near-misses derived from the valid strings (truncations and single-character
deletions), on which the two engines must agree.
"""

import lark
import llguidance
import pytest

from bb_agent.core.dsl.grammar import grammar_from_text, llguidance_text, load_grammar, specialise
from bb_agent.core.dsl.json_grammar import endpoint_grammar
from bb_agent.core.schema import load_schema

ROBOT_OK = [
    's1 = pick(object=red_cup);',
    's1 = pick(object=red_cup, speed=0.2 m/s) @timeout(8 s) @retries(2);',
    's1 = pick(); s2 = place(object=red_cup, target=bin_a) after s1;',
    'if holding(red_cup) { s3 = release(object=red_cup); } else { s4 = home(); }',
    'parallel { s5 = say(text="done"); s6 = move_to(target={x=0.3, y=0.0, z=0.4}); }',
    'repeat 2 { s7 = scan(); } # trailing comment',
    'if !(gripper_empty && scanned) || holding(x, $s1.pose, "q") { s1 = home(); }',
    's1 = push(object=b, direction=left, distance=-5 cm, force=10 N) @optional;',
    's1 = say(text="a \\"quoted\\" \\\\ word\\n");',
    '# comment only line\ns1 = home();\n\n',
    's1 = move_to(target={x=1, y=2, z=3, roll=0 rad, pitch=90 deg, yaw=1.5});',
    's1 = wait(duration=500 ms); s2 = wait(duration=1 s) after s1, s1;',
    's10 = pick(object=s10, flag=true, other=false, r=$s2);',
    'if not { s1 = home(); }',
    's1 = if();',
    'repeat 0 { parallel { s1 = a(); if b { s2 = c(); } } }',
    's1=pick(a=1,b=2);s2=home();',
    's1 = x(v=100 %, w=3 kg, u=2 rad/s);',
]
ROBOT_BAD = ['s1 = say(text="a\x1c\x85");\x1c', 's1\u2003= home();',
    '', 's1 = pick(', 's1 = pick()', 's1 = pick() s2 = home();', 'if = pick();',
    's1 = pick(a=1.);', 's1 = pick(a="x\ny");', 'repeat -1 { s1 = f(); }', 's1 = pick(a=1 km);',
    '{{{', 'parallel { }', 'if x { }', 's1 = pick(a=);', 's1 = pick(=1);', 'x1 = pick();',
    's1 = pick() @timeout();', 's1 = pick() @retries(-1);', 's1 = pick() after ;',
    's1 = pick(a={x=1 y=2});', 's1 = pick(a={w=1});', 's1 = pick(a=$x);', 's1 = 3();',
    's1 = pick(a=1e3);', 's1 = pick(a=.5);', 'if a && { s1 = f(); }', 'if (a { s1 = f(); }',
    's1 = pick(a="unterminated);', 'S1 = pick();', 's1 = pick(a=1) @Optional;',
    'else { s1 = f(); }', 's1 = pick(a=b c);', 's1 = pick(a=1 m/ s);',
]
SPECIALISED_OK = ['s1 = pick(object=red_cup, speed=0.2 m/s);', 's1 = home();',
                  'if holding(red_cup) { s1 = say(text="x"); }',
                  'if human_near { s1 = wait(duration=1 s); }']
SPECIALISED_BAD = ['s1 = fly();', 's1 = pick(colour=red);', 'if sky { s1 = home(); }',
                   's1 = picks(object=a);', 's1 = pic(object=a);']
JSON_OK = ['{}', '[]', '{"a": 1}', '{"a": [1, 2.5, -3e2, true, false, null, "s"]}',
           '"\\u00e9\\n"', '0', '-0.5', '{"nested": {"k": {"k2": []}}}', '  {"a" : 1 }  ',
           '"é"', '1E+3']
JSON_BAD = ['{', '{"a" 1}', '{a: 1}', "{'a': 1}", '[1,]', '{"a": 1,}', '01', '1.', '.5',
            '"tab\there"', 'nul', 'True', '"\\x"', '[1 2]', '"unterminated']
ENDPOINT_OK = ['{"endpoint": "create_ticket", "args": {"title": "t", "customer_id": 4}}',
               '{"endpoint":"create_ticket","args":{"title":"t","customer_id":4,'
               '"priority":"high"}}']
ENDPOINT_BAD = ['{"endpoint": "create_ticket", "args": {"title": "t"}}',
                '{"endpoint": "create_ticket", "args": {"title": "t", "customer_id": 4.5}}',
                '{"endpoint": "cancel_order", "args": {"title": "t", "customer_id": 4}}',
                '{"endpoint": "create_ticket", "args": {"title": "t", "customer_id": 4,'
                ' "priority": "urgent"}}',
                '{"args": {"title": "t", "customer_id": 4}, "endpoint": "create_ticket"}']
PHONE_OK = ['say "Hello.";', 'hangup;', 'say "Hi." voice=calm; gather digits=4 timeout=5 s '
            '-> pin; hangup;', 'transfer to "+15550100";', 'hold 30 s music=default;',
            'if pin == "1234" { say "ok"; } else { hangup; }', 'gather -> x;',
            'say "a"; # comment\nhangup;']
PHONE_BAD = ['say Hello;', 'hangup', 'gather digits=4;', 'transfer "+1";', 'hold 30;',
             'if pin = "1" { hangup; }', 'say "x" speed=2;', 'dance;', 'if Pin == "1" { }',
             'hold 30 min;']
SOCIAL_OK = ['hi', '@alex thanks! see https://example.org/notes #robotics', 'ok ok ok',
             '#tag', '@a', 'emoji:)', 'https://x.org', 'a-b_c.d',
             # Characters Python's \s and Rust's \s classify differently.
             'a\x1cb', 'x\x1f', 'a\x85b', 'a\u2003b', 'a\u00a0b']
SOCIAL_BAD = ['', ' hi', 'hi ', 'a  b', 'x\ny', '@', '#', '@' + 'a' * 31, 'tab\there']


def _robot_specialised():
    return specialise(load_grammar('robot_dsl'), load_schema('robot').vocabulary()).text


def _endpoint():
    return endpoint_grammar(load_schema('api_json'), 'create_ticket').text


CORPUS = {
    'robot_dsl': (lambda: load_grammar('robot_dsl').text, ROBOT_OK, ROBOT_BAD),
    'robot_dsl+vocab': (_robot_specialised, SPECIALISED_OK, SPECIALISED_BAD),
    'api_json': (lambda: load_grammar('api_json').text, JSON_OK, JSON_BAD),
    'api_json:create_ticket': (_endpoint, ENDPOINT_OK, ENDPOINT_BAD),
    'phone_callflow': (lambda: load_grammar('phone_callflow').text, PHONE_OK, PHONE_BAD),
    'social': (lambda: load_grammar('social').text, SOCIAL_OK, SOCIAL_BAD),
}
LABELLED = [(g, t, True) for g, (_, ok, _) in CORPUS.items() for t in ok] + \
           [(g, t, False) for g, (_, _, bad) in CORPUS.items() for t in bad]


def _near_misses(text):
    """Return truncations and single-character deletions at a spread of positions."""
    cuts = sorted({len(text) * k // 5 for k in range(1, 5)} | {len(text) - 1})
    out = {text[:c] for c in cuts if c > 0}
    out |= {text[:c] + text[c + 1:] for c in cuts if 0 <= c < len(text)}
    return sorted(out - {text})


DERIVED = sorted({(g, m) for g, (_, ok, _) in CORPUS.items() for t in ok
                  for m in _near_misses(t)})


class Engines:
    """Both engines for every grammar of the corpus, built once."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.texts = {name: build() for name, (build, _, _) in CORPUS.items()}
        self.lark = {name: lark.Lark(text, parser='lalr') for name, text in self.texts.items()}
        self.ll = {name: llguidance.LLMatcher.grammar_from_lark(
            llguidance_text(grammar_from_text(name, text))) for name, text in self.texts.items()}

    def lark_accepts(self, grammar, text):
        try:
            self.lark[grammar].parse(text)
            return True
        except lark.exceptions.LarkError:
            return False

    def ll_accepts(self, grammar, text):
        matcher = llguidance.LLMatcher(self.tokenizer, self.ll[grammar], log_level=0)
        assert not matcher.is_error(), matcher.get_error()
        consumed = matcher.consume_tokens(self.tokenizer.tokenize_str(text))
        return consumed and not matcher.is_error() and matcher.is_accepting()


@pytest.fixture(scope='module')
def engines(small_tokenizer):
    return Engines(small_tokenizer)


def test_when_corpus_counted_expect_at_least_200_strings_with_near_misses():
    assert len(LABELLED) + len(DERIVED) >= 200
    assert sum(not ok for _, _, ok in LABELLED) >= 60


@pytest.mark.parametrize('grammar,text,expected', LABELLED)
def test_when_labelled_string_matched_expect_both_engines_give_the_label(engines, grammar,
                                                                        text, expected):
    assert engines.lark_accepts(grammar, text) is expected
    assert engines.ll_accepts(grammar, text) is expected


@pytest.mark.parametrize('grammar,text', DERIVED)
def test_when_near_miss_matched_expect_engines_agree(engines, grammar, text):
    assert engines.lark_accepts(grammar, text) == engines.ll_accepts(grammar, text)
