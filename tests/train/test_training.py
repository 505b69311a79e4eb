"""Offline training: data synthesis, the trace format, duals, PCGrad, trainer and CLI."""

import json
from pathlib import Path
import subprocess
import sys

import pytest
import torch

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.train.dataset import load_traces
from bb_agent.train.lagrangian import Constraint, pcgrad
from bb_agent.train.synth_robot import HELD_OUT
from bb_agent.train.synthesize import Sizes, synthesize

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))
SMALL = Sizes(train=60, val=20, test=20, other_train=30, other_test=10)


@pytest.fixture(scope='module')
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp('corpus')
    synthesize(out, seed=7, sizes=SMALL)
    return out


def test_when_synthesised_twice_with_one_seed_expect_identical_files(corpus, tmp_path):
    synthesize(tmp_path, seed=7, sizes=SMALL)
    files = sorted(p.relative_to(corpus) for p in corpus.rglob('*.json*'))
    assert len(files) == 6 + 3 * 4 + 4  # robot 6 splits, 3 domains x 4, 4 data cards
    for rel in files:
        assert (corpus / rel).read_bytes() == (tmp_path / rel).read_bytes(), rel


def test_when_synthesised_with_another_seed_expect_different_examples(corpus, tmp_path):
    synthesize(tmp_path, seed=8, sizes=SMALL, domains=('robot',))
    assert (corpus / 'robot/train.jsonl').read_text() != \
        (tmp_path / 'robot/train.jsonl').read_text()


@pytest.mark.parametrize('split,holds_held_out', [('train', False), ('val', False),
                                                  ('val_compositional', True),
                                                  ('test_iid', False), ('test_skin', False),
                                                  ('test_compositional', True)])
def test_when_split_is_drawn_expect_held_out_combinations_only_in_compositional(
        corpus, split, holds_held_out):
    held = {'+'.join(c) for c in HELD_OUT}
    rows = [json.loads(line) for line in (corpus / 'robot' / f'{split}.jsonl').open()]
    assert rows and all(bool(held & set(r['combos'])) == holds_held_out for r in rows)
    assert all(r['graph']['nodes'] and len(r['graph']['lines']) == len(r['graph']['nodes'])
               for r in rows)


def test_when_data_card_is_written_expect_seed_counts_and_split_rules(corpus):
    card = json.loads((corpus / 'robot' / 'data_card.json').read_text())
    assert card['seed'] == 7 and card['counts']['train'] == SMALL.train
    assert set(card['splits']) == set(card['counts']) == set(card['sha256'])


@pytest.mark.parametrize('content,where', [
    ('not json\n', 'train.jsonl:1'),
    ('{"input": "a"}\n', 'train.jsonl:1'),
    ('{"input": "a", "output": "b"}\n{"input": "", "output": "b"}\n', 'train.jsonl:2'),
    ('{"input": "a", "output": "b", "graph": {"nodes": ["x"], "edges": [[0, 3]]}}\n',
     'train.jsonl:1'),
    ('[1, 2]\n', 'train.jsonl:1'),
])
def test_when_trace_line_is_bad_expect_typed_error_naming_file_and_line(tmp_path, content,
                                                                         where):
    (tmp_path / 'train.jsonl').write_text(content)
    (tmp_path / 'val.jsonl').write_text('{"input": "a", "output": "b"}\n')
    with pytest.raises(BBError) as err:
        load_traces(tmp_path)
    assert err.value.code is ErrorCode.INVALID_ARGUMENT and where in err.value.message


def test_when_val_split_is_missing_expect_typed_error(tmp_path):
    (tmp_path / 'train.jsonl').write_text('{"input": "a", "output": "b"}\n')
    with pytest.raises(BBError, match='val.jsonl is missing'):
        load_traces(tmp_path)


@pytest.mark.parametrize('grads,expected', [
    ([[1.0, 0.0], [-1.0, 1.0]], [0.5, 1.5]),  # conflict: (.5, .5) + (0, 1), both ⟂ the other
    ([[1.0, 0.0], [0.0, 2.0]], [1.0, 2.0]),  # orthogonal: plain sum
    ([[1.0, 1.0], [2.0, 0.5]], [3.0, 1.5]),  # agreeing: plain sum
])
def test_when_gradients_conflict_expect_pcgrad_removes_the_conflicting_component(grads,
                                                                                  expected):
    vectors = [torch.tensor(g) for g in grads]
    combined = pcgrad(vectors)
    assert torch.allclose(combined, torch.tensor(expected), atol=1e-6)


def test_when_constraint_is_violated_then_met_expect_dual_rises_then_returns_to_zero():
    c = Constraint(target=0.1, eta=0.5)
    rising = [c.update(1.0) for _ in range(20)]
    assert all(b > a for a, b in zip(rising, rising[1:], strict=False))
    falling = [c.update(0.0) for _ in range(200)]
    # Winsorising lags a regime change by a few steps (5% of the 64-step window), then the
    # dual decays steadily to zero and stays there.
    settled = falling[5:]
    assert all(b <= a for a, b in zip(settled, settled[1:], strict=False))
    assert falling[-1] == 0.0 and settled[0] < falling[0]


def test_when_trainer_runs_a_few_dozen_steps_expect_lm_loss_to_fall(corpus, tmp_path):
    from bb_agent.core.dsl.grammar import load_grammar, specialise
    from bb_agent.core.schema import load_schema
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    from bb_agent.model.presets import build_model, load_preset
    from bb_agent.train.losses import lm_loss
    from bb_agent.train.pipeline import corpus_texts
    from bb_agent.train.tokenizer import train_bpe
    from bb_agent.train.trainer import RailTrainer, TrainConfig
    data = load_traces(corpus / 'robot')
    tok = train_bpe(corpus_texts(data), 600)
    model = build_model(load_preset('tiny'), vocab_size=len(tok), eos=tok.eos_token_id)
    llg = llg_tokenizer(tok, vocab_size=len(tok))
    grammar = specialise(load_grammar('robot_dsl'), load_schema('robot').vocabulary())
    trainer = RailTrainer(model, tok, data.splits['train'], data.splits['val'],
                          lambda: GrammarConstraint(llg, grammar, len(tok)),
                          TrainConfig(steps=60, batch_size=8, eval_every=30, lr=1e-2),
                          tmp_path)
    base_before = [p.clone() for p in model.base.parameters()]
    fixed = trainer.batch(data.splits['train'][:16])  # batches are length-grouped: judge
    # the loss on one fixed batch, not on whichever lengths came first and last

    def fixed_loss():
        with torch.no_grad():
            return lm_loss(model.forward_at(fixed.ids, fixed.target).logits, fixed).item()
    first = fixed_loss()
    records = trainer.fit(progress=False)
    last = fixed_loss()
    assert last < first - 0.15, (first, last)  # a random tiny base caps the drop
    assert all(torch.equal(a, b) for a, b in zip(base_before, model.base.parameters(),
                                                 strict=True))
    assert {'cos', 'dual/cfs_energy', 'cfs_violation_rate', 'alpha_max'} <= set(records[0])
    assert (tmp_path / 'last.pt').exists() and (tmp_path / 'train_log.jsonl').exists()


LIGHTS = 'start: cmd (";" cmd)*\ncmd: ACTION " " ROOM\nACTION: "on" | "off"\n' \
         'ROOM: "hall" | "kitchen" | "attic"\n'


def test_when_user_trains_on_own_traces_and_grammar_expect_a_checkpoint(tmp_path):
    data = tmp_path / 'lights'
    data.mkdir()
    rows = [{'input': f'switch {a} the {r} light', 'output': f'{a} {r}'}
            for a in ('on', 'off') for r in ('hall', 'kitchen', 'attic')]
    for split in ('train', 'val', 'test'):
        (data / f'{split}.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    (tmp_path / 'lights.lark').write_text(LIGHTS)
    out = tmp_path / 'ckpt'
    result = subprocess.run([BB_AGENT, 'train', '--data', str(data), '--grammar',
                             str(tmp_path / 'lights.lark'), '--preset', 'tiny', '--steps', '6',
                             '--base-steps', '6', '--batch-size', '4', '--out', str(out),
                             '--no-progress'], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    for name in ('model.safetensors', 'config.json', 'tokenizer.json', 'grammar.lark',
                 'metrics.json', 'train_log.jsonl'):
        assert (out / name).exists(), name
    config = json.loads((out / 'config.json').read_text())
    assert config['grammar'] == 'lights' and config['rail_params'] > 0


@pytest.mark.parametrize('device,ok', [
    ('cpu', True),
    ('cuda', torch.cuda.is_available()),
    ('tpu', False),
    ('not a device', False),
])
def test_when_training_device_is_chosen_expect_it_or_a_typed_error(device, ok):
    from bb_agent.cli.train import _device
    if ok:
        assert _device(device) == device
    else:
        with pytest.raises(BBError) as err:
            _device(device)
        assert err.value.code is ErrorCode.INVALID_ARGUMENT and device in str(err.value)


@pytest.mark.parametrize('family', ['llama', 'gpt2'])
@pytest.mark.parametrize('micro', [2, 3, 8])
def test_when_base_batch_is_split_by_length_expect_the_whole_batch_loss_and_gradient(
        corpus, family, micro):
    from bb_agent.model.presets import build_model, load_preset
    from bb_agent.train.batches import make_batch
    from bb_agent.train.pipeline import base_lm_backward, corpus_texts
    from bb_agent.train.tokenizer import train_bpe
    data = load_traces(corpus / 'robot')
    tok = train_bpe(corpus_texts(data), 600)
    preset = load_preset('tiny')
    preset = preset.model_copy(update={'base': preset.base.model_copy(
        update={'family': family})})
    base = build_model(preset, vocab_size=len(tok), eos=tok.eos_token_id).base
    base.requires_grad_(True)
    rows = data.splits['train'][:8]
    # Reference: one padded batch through the model's own LM loss (mean over program tokens).
    b = make_batch(rows, tok, max_len=256, new_constraint=None, vocab=len(tok))
    keep = torch.zeros_like(b.target)
    keep[:, 1:] = b.target[:, :-1]
    ref = base(input_ids=b.ids, labels=b.ids.masked_fill(~keep, -100)).loss
    ref.backward()
    ref_grads = [p.grad.clone() for p in base.parameters()]
    base.zero_grad(set_to_none=True)
    loss = base_lm_backward(base, rows, tok, max_len=256, micro=micro)
    assert loss == pytest.approx(ref.item(), rel=1e-5)
    for got, want in zip((p.grad for p in base.parameters()), ref_grads, strict=True):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('mask', [False, True])
def test_when_batch_encodings_are_cached_expect_the_same_batches(corpus, mask):
    from bb_agent.core.dsl.grammar import load_grammar, specialise
    from bb_agent.core.schema import load_schema
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    from bb_agent.train.batches import make_batch
    from bb_agent.train.pipeline import corpus_texts
    from bb_agent.train.tokenizer import train_bpe
    data = load_traces(corpus / 'robot')
    tok = train_bpe(corpus_texts(data), 600)
    grammar = specialise(load_grammar('robot_dsl'), load_schema('robot').vocabulary())
    llg = llg_tokenizer(tok, vocab_size=len(tok))
    new = (lambda: GrammarConstraint(llg, grammar, len(tok))) if mask else None
    rows, cache = data.splits['train'][:6], {}
    for part in (rows[:4], rows[2:], rows[:4]):  # misses, then hits and misses, then hits
        want = make_batch(part, tok, max_len=64, new_constraint=new, vocab=len(tok))
        got = make_batch(part, tok, max_len=64, new_constraint=new, vocab=len(tok), cache=cache)
        for field in ('ids', 'target', 'allowed', 'step_of', 'edges'):
            a, b = getattr(want, field), getattr(got, field)
            assert (a is None and b is None) or torch.equal(a, b), field
    assert len(cache) == len(rows)


@pytest.mark.parametrize('family', ['llama', 'gpt2'])
def test_when_logits_are_taken_at_targets_only_expect_the_full_forwards_values(corpus,
                                                                              family):
    from bb_agent.model.presets import build_model, load_preset
    from bb_agent.train.batches import make_batch
    from bb_agent.train.pipeline import corpus_texts
    from bb_agent.train.tokenizer import train_bpe
    data = load_traces(corpus / 'robot')
    tok = train_bpe(corpus_texts(data), 600)
    preset = load_preset('tiny')
    preset = preset.model_copy(update={'base': preset.base.model_copy(
        update={'family': family})})
    model = build_model(preset, vocab_size=len(tok), eos=tok.eos_token_id).eval()
    model.set_alpha_max(0.5)  # the rail changes the logits, so both paths must run it
    b = make_batch(data.splits['train'][:6], tok, max_len=256, new_constraint=None,
                   vocab=len(tok))
    with torch.no_grad():
        full = model(b.ids, output_hidden=True)
        at = model.forward_at(b.ids, b.target)
        base_full = model.base(input_ids=b.ids).logits
        base_at = model.base_logits_at(b.ids, b.target)
    assert at.logits.shape == (int(b.target.sum()), len(tok))
    assert torch.allclose(at.logits, full.logits[b.target], atol=1e-4)
    assert torch.allclose(at.hidden, full.hidden, atol=1e-4)
    assert torch.allclose(base_at, base_full[b.target], atol=1e-4)
    assert not torch.allclose(at.logits, base_at, atol=1e-3)


@pytest.mark.parametrize('rows,size,group', [(100, 8, 4), (100, 8, 100), (5, 8, 4),
                                             (64, 16, 1)])
def test_when_batches_are_length_grouped_expect_every_row_equally_and_less_padding(
        rows, size, group):
    import random

    from bb_agent.train.batches import LengthGroups
    rng = random.Random(3)
    lengths = [rng.randrange(10, 300) for _ in range(rows)]
    groups = LengthGroups(lengths, size, group)
    drawn = [groups.next(rng) for _ in range(2000)]
    assert all(len(b) == min(size, rows) for b in drawn)
    assert all(len(set(b)) == len(b) for b in drawn)  # no row twice in a batch
    counts = [0] * rows
    for b in drawn:
        for i in b:
            counts[i] += 1
    mean = sum(counts) / rows  # binomial spread: about 3 standard deviations either way
    assert min(counts) > 0.6 * mean and max(counts) < 1.4 * mean
    if group > 1 and rows > size:
        plain = random.Random(4)
        spread = sum(max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in drawn)
        random_spread = sum(max(x) - min(x) for x in (
            [lengths[i] for i in plain.sample(range(rows), size)] for _ in drawn))
        assert spread < 0.6 * random_spread


def test_when_rail_training_resumes_expect_it_to_continue_where_it_stopped(corpus, tmp_path):
    from bb_agent.core.dsl.grammar import load_grammar, specialise
    from bb_agent.core.schema import load_schema
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    from bb_agent.model.presets import build_model, load_preset
    from bb_agent.train.pipeline import corpus_texts
    from bb_agent.train.tokenizer import train_bpe
    from bb_agent.train.trainer import RailTrainer, TrainConfig
    data = load_traces(corpus / 'robot')
    tok = train_bpe(corpus_texts(data), 600)
    llg = llg_tokenizer(tok, vocab_size=len(tok))
    grammar = specialise(load_grammar('robot_dsl'), load_schema('robot').vocabulary())

    def trainer(steps, out):
        torch.manual_seed(0)
        model = build_model(load_preset('tiny'), vocab_size=len(tok), eos=tok.eos_token_id)
        return RailTrainer(model, tok, data.splits['train'], data.splits['val'],
                           lambda: GrammarConstraint(llg, grammar, len(tok)),
                           TrainConfig(steps=steps, batch_size=4, eval_every=3,
                                       length_group=4), out)
    whole = trainer(6, tmp_path / 'whole')
    whole_log = whole.fit(progress=False)
    first = trainer(3, tmp_path / 'parts')
    first.fit(progress=False)
    second = trainer(6, tmp_path / 'parts')
    second.resume(tmp_path / 'parts' / 'last.pt')
    assert second.step == 3 and second.groups.pending == first.groups.pending
    rest = second.fit(progress=False)
    assert [r['step'] for r in rest] == [3, 4, 5]
    for a, b in zip(whole_log[3:], rest, strict=True):
        assert a['task'] == pytest.approx(b['task'], rel=1e-4)
    assert [c.dual for c in whole.constraints.values()] == pytest.approx(
        [c.dual for c in second.constraints.values()], rel=1e-4, abs=1e-6)
