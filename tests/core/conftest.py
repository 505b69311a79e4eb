"""Fixtures shared by the core tests."""

import pytest


@pytest.fixture(scope='session')
def small_tokenizer():
    """Return a byte-level BPE tokenizer trained here on the grammars (no hub), as llguidance's."""
    import llguidance
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    from bb_agent.core.dsl.grammar import load_grammar

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=600, special_tokens=['<eos>'],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    corpus = [load_grammar(g).text for g in ('robot_dsl', 'api_json', 'phone_callflow',
                                             'social')]
    corpus += ['s1 = pick(object=red_cup, speed=0.2 m/s);', '{"endpoint": "x", "args": {}}']
    tok.train_from_iterator(corpus * 5, trainer)
    return llguidance.LLTokenizer(tok.to_str(), eos_token=tok.token_to_id('<eos>'))
