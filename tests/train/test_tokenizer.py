"""The corpus tokenizer: pre-tokenization splits, round trips, and the grammar mask on it."""

import pytest

from bb_agent.train.tokenizer import SPLIT_PATTERNS, train_bpe

PROGRAMS = [
    's1 = pick(object=red_can, speed=0.4 m/s);\ns2 = place(object=red_can, target=bin_a);\n',
    'repeat 3 {\n  s1 = say(text="hello there");\n}\ns2 = home(speed=0.1 m/s);\n',
    'if holding(blue_cup) {\n  s1 = place(object=blue_cup, target=tray);\n} else {\n'
    '  s2 = scan(region=bins);\n}\n',
]
CORPUS = [f'objects: red_can blue_cup; bins: bin_a tray; human: none\n{p}' for p in PROGRAMS]


@pytest.fixture(scope='module')
def tokenizers():
    return {split: train_bpe(CORPUS * 8, 600, min_frequency=2, split=split)
            for split in SPLIT_PATTERNS}


@pytest.mark.parametrize('split', sorted(SPLIT_PATTERNS))
@pytest.mark.parametrize('text', [
    PROGRAMS[0],
    'héllo wörld_2 über 3.5 ß=4;\n  x',  # letters and digits outside ASCII
    '\t\n  \r\n',                          # whitespace only
    'never_seen_identifier_42 = 1e-3;',     # nothing the corpus has merged
])
def test_when_any_text_is_encoded_expect_it_decodes_to_itself(tokenizers, split, text):
    tok = tokenizers[split]
    assert tok.decode(tok.encode(text)) == text


@pytest.mark.parametrize('split, whole, cut', [
    ('code', ['red_can', '0.4', 's1', ');\n'], []),
    ('gpt2', [], ['red_can', '0.4', 's1']),
])
def test_when_split_is_chosen_expect_identifiers_and_decimals_kept_whole_or_cut(
        tokenizers, split, whole, cut):
    tok = tokenizers[split]
    pieces = [tok.decode([i]).strip(' ') for i in tok.encode(PROGRAMS[0])]
    for chunk in whole:
        assert chunk in pieces, (chunk, pieces)
    for chunk in cut:
        assert chunk not in pieces, (chunk, pieces)


def test_when_split_is_code_expect_fewer_tokens_than_gpt2(tokenizers):
    count = {s: sum(len(tokenizers[s].encode(p)) for p in PROGRAMS) for s in SPLIT_PATTERNS}
    assert count['code'] < count['gpt2'], count


@pytest.mark.parametrize('split', sorted(SPLIT_PATTERNS))
def test_when_tokens_span_grammar_terminals_expect_the_mask_to_accept_gold(tokenizers, split):
    from bb_agent.core.dsl.grammar import load_grammar, specialise
    from bb_agent.core.schema import load_schema
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    tok = tokenizers[split]
    grammar = specialise(load_grammar('robot_dsl'), load_schema('robot').vocabulary())
    llg = llg_tokenizer(tok, vocab_size=len(tok))
    for program in PROGRAMS:
        constraint = GrammarConstraint(llg, grammar, len(tok))
        for token in tok.encode(program):
            assert constraint.allowed()[token], (program, tok.decode([token]))
            assert constraint.consume(token)
        assert constraint.allowed()[tok.eos_token_id]


def test_when_split_is_unknown_expect_value_error():
    with pytest.raises(ValueError, match='unknown tokenizer split'):
        train_bpe(CORPUS, 300, split='words')
