"""Synthesis wording: lexicon verbs, held-out skin phrasings, politeness, numbers, pronouns."""

import functools
import random
import re

import pytest

from bb_agent.core.schema import load_schema
from bb_agent.train import synth_language as lang
from bb_agent.train.synth_compose import make_example

SCHEMA = load_schema('robot')


@functools.cache  # drawn once per split for every test that reads it
def _inputs(split: str, n: int = 400, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    return [make_example(rng, SCHEMA, split=split)[0]['input'] for _ in range(n)]


def _has_phrase(text: str, phrase: str) -> bool:
    return re.search(rf'\b{re.escape(phrase)}\b', text.lower()) is not None


@pytest.mark.parametrize('table', ['POLITE', 'CONNECTORS', 'REVERSED', 'TOGETHER', 'REPEATS',
                                   'DISTRACTORS', 'PRONOUN_FETCH'])
def test_when_a_phrasing_table_is_split_expect_skin_entries_never_in_training(table):
    train, skin = getattr(lang, table)
    assert set(train).isdisjoint(skin)


@pytest.mark.parametrize('atom', sorted(lang.FRAMES))
def test_when_an_atom_has_verbs_expect_held_out_ones_distinct_and_in_the_lexicon(atom):
    _skill, _frames, train, skin = lang.FRAMES[atom]
    assert train and skin and set(train).isdisjoint(skin)


def test_when_a_verb_is_not_in_the_lexicon_expect_import_time_check_to_fail(monkeypatch):
    monkeypatch.setitem(lang.FRAMES, 'push', ('push', ('{v} the {o}',), ('yeet',), ('shove',)))
    with pytest.raises(ValueError, match="'yeet' of push is not in the robot lexicon"):
        lang._check_lexicon()


@pytest.mark.parametrize('words, train, skin', [
    (['slowly', 'at a gentle pace', 'slow', 'take your time', 'carefully'],
     ('slowly', 'slow'), ('at a gentle pace', 'carefully')),  # "take your time" is no adverb
    (['gently', 'with a light touch'], ('gently',), ('with a light touch',)),
])
def test_when_modifier_words_are_split_expect_alternate_ones_held_out(words, train, skin):
    assert lang.modifier_phrases(words) == (train, skin)


def test_when_training_requests_are_drawn_expect_no_held_out_verb_in_them():
    texts = _inputs('train')
    train_verbs = {v for _s, _f, train, _k in lang.FRAMES.values() for v in train}
    held = {v for _s, _f, _t, skin in lang.FRAMES.values() for v in skin} - train_verbs
    leaks = [(v, t) for t in texts for v in held if _has_phrase(t, v)]
    assert not leaks, leaks[:3]


@pytest.mark.parametrize('feature, pattern', [
    ('question', r'\?$'),
    ('polite opener', r'^(Please|Could you|Can you|I need you to)\b'),
    ('number word', r'\b(two|three|four|five|eight|ten|twice)\b'),
    ('pronoun fetch', r'\b(it|that) (in|into|to)\b'),
    ('pick alone', r'^(Pick up|Grab|Lift|Grasp|Take hold of|Collect) the \w+ \w+[^,;]*\.$'),
    ('reordered clauses', r', but first '),
])
def test_when_training_requests_are_drawn_expect_each_wording_feature_to_occur(feature,
                                                                                pattern):
    assert any(re.search(pattern, t) for t in _inputs('train')), feature


def test_when_a_number_is_written_as_a_word_expect_the_same_program_value():
    rng = random.Random(0)
    seen = {lang.number(rng, 5) for _ in range(200)}
    assert seen == {'5', 'five'}
    assert lang.number(rng, 7) == '7'  # no word for it: digits


def test_when_a_condition_opens_the_request_expect_no_leading_politeness_frame():
    rng = random.Random(0)
    for _ in range(100):
        out = lang.polite(rng, 'if your gripper is empty, go home', skin=False)
        assert out.startswith('If your gripper is empty'), out
