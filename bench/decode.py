"""Decoding benchmark: grammar-mask latency, grammar compile time and throughput ratios.

- ``mask_us`` / ``mask_us_json``: time of one next-token mask (llguidance's bitmask plus
  its unpacking to a bool vector: what the decoder pays per step), with a 32k-token
  byte-level BPE trained here, at every prefix of real programs/documents.
- ``compile_ms``: building a matcher for the (specialised) robot grammar with that tokenizer.
- ``constrained_over_unconstrained_tps``: strict-mask greedy decoding over free decoding,
  and ``onnx_over_torch_tps``: the ONNX Runtime backend over torch eager, both with a
  random-weight model of the default preset's size, same process, same prompts.
"""

from __future__ import annotations

import glob
import sys
import sysconfig
import time

from bb_agent.core.dsl.grammar import load_grammar, specialise
from bb_agent.core.resources import share_path
from bb_agent.core.schema import load_schema
from bench.timing import machine, percentile, time_calls

MASK_VOCAB = 32000
CORPUS_CHARS = 40_000_000  # enough distinct merges for a full 32k vocabulary
JSON_DOCS = [  # api_json requests of the kinds the API bridge sends
    '{"endpoint": "create_ticket", "args": {"title": "Gripper jams on red cup", '
    '"customer_id": 4211, "priority": "high", "tags": ["gripper", "robot-7"]}}',
    '{"endpoint": "lookup_order", "args": {"order_id": "A-99812", "include_history": true}}',
    '[{"id": 1, "pose": {"x": 0.25, "y": -0.1, "z": 0.02}, "ok": false, "note": null}, '
    '{"id": 2, "pose": {"x": 1.5e-1, "y": 0.0, "z": 0.02}, "ok": true, "note": "done"}]',
]
PROMPTS = ['put the red cup in the blue bin', 'wave, then go home',
           'if a person is near, stop; else pick the green block and place it on the tray']


def _corpus() -> list[str]:
    """Real text and code for a 32k tokenizer: this repo plus the Python standard library."""
    files = sorted(glob.glob(str(share_path('grammars') / '*.lark')))
    files += sorted(glob.glob(str(share_path() / 'tests' / 'golden' / 'robot' / '*.bb')))
    files += sorted(glob.glob(str(share_path() / '**' / '*.md'), recursive=True))
    files += sorted(glob.glob(str(share_path() / 'bb_agent' / '**' / '*.py'), recursive=True))
    files += sorted(glob.glob(sysconfig.get_paths()['stdlib'] + '/**/*.py', recursive=True))
    texts, size = [], 0
    for name in files:
        try:
            texts.append(open(name, encoding='utf-8').read())
        except (OSError, UnicodeDecodeError):
            continue
        size += len(texts[-1])
        if size > CORPUS_CHARS:
            break
    return texts


def _robot_programs() -> list[str]:
    folder = share_path() / 'tests' / 'golden' / 'robot'
    return [open(p).read() for p in sorted(glob.glob(str(folder / '*_ok_*.bb')))]


def _mask_latency(llg, grammar, texts, tokenizer, vocab, passes) -> dict:
    """Time ``allowed()`` at every prefix of every text (tokens as the tokenizer splits)."""
    from bb_agent.model.constraint import GrammarConstraint
    samples = []
    for _ in range(passes):
        for text in texts:
            constraint = GrammarConstraint(llg, grammar, vocab)
            for token in tokenizer.encode(text) + [tokenizer.eos_token_id]:
                start = time.perf_counter_ns()
                constraint.allowed()
                samples.append((time.perf_counter_ns() - start) / 1000.0)
                if token != tokenizer.eos_token_id and not constraint.consume(token):
                    raise RuntimeError(f'benchmark text rejected by {grammar.name}: {text!r}')
    return {'vocab': vocab, 'grammar': grammar.name, 'p50': round(percentile(samples, 0.5), 1),
            'p99': round(percentile(samples, 0.99), 1), 'max': round(max(samples), 1),
            'n': len(samples), 'unit': 'us'}


def _paired_tps(runs: dict, prompts, repeats: int) -> dict[str, float]:
    """Return tokens/s for each named (decoder, config) run, measured interleaved.

    Every round runs every variant on every prompt, rotating the order, so slow phases of
    a noisy machine hit all variants alike; the result is total tokens over total time.
    """
    tokens = dict.fromkeys(runs, 0)
    spent = dict.fromkeys(runs, 0.0)
    names = list(runs)
    for round_ in range(repeats):
        for prompt in prompts:
            for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                decoder, cfg = runs[name]
                start = time.perf_counter()
                result = decoder.generate(prompt, cfg)
                spent[name] += time.perf_counter() - start
                tokens[name] += max(1, result.steps)
    return {name: tokens[name] / spent[name] for name in names}


def run(repeats: int = 300) -> dict:
    """Run every part; ``repeats`` scales the number of passes (300 = full run)."""
    import tempfile

    import torch

    from bb_agent.model.backends import TorchBackend
    from bb_agent.model.constraint import GrammarConstraint, llg_tokenizer
    from bb_agent.model.decoding import DecodeConfig, Decoder
    from bb_agent.model.onnx_backend import OnnxBackend
    from bb_agent.model.onnx_export import export_onnx
    from bb_agent.model.presets import build_model, load_preset
    from bb_agent.train.tokenizer import train_bpe

    out: dict = {'machine': machine()}
    corpus = _corpus()
    start = time.perf_counter()
    big = train_bpe(corpus, MASK_VOCAB)
    out['tokenizer'] = {'vocab': len(big), 'train_s': round(time.perf_counter() - start, 1),
                        'corpus_mb': round(sum(map(len, corpus)) / 1e6, 1)}
    llg = llg_tokenizer(big, vocab_size=len(big))
    robot = specialise(load_grammar('robot_dsl'), load_schema('robot').vocabulary())
    compile_ms = [t / 1000.0 for t in time_calls(
        lambda: GrammarConstraint(llg, robot, len(big)), repeats=max(5, repeats // 10),
        warmup=0)]
    out['compile_ms'] = round(percentile(compile_ms, 0.5), 2)
    out['compile_ms_detail'] = {'first': round(compile_ms[0], 2),
                                'p99': round(percentile(compile_ms, 0.99), 2)}
    passes = max(1, repeats // 100)
    out['mask_us'] = _mask_latency(llg, robot, _robot_programs(), big, len(big), passes)
    out['mask_us_json'] = _mask_latency(llg, load_grammar('api_json'), JSON_DOCS, big,
                                        len(big), passes)

    preset = load_preset('default')
    small = train_bpe(corpus, preset.tokenizer.vocab_size, split=preset.tokenizer.split)
    model = build_model(preset, vocab_size=len(small), eos=small.eos_token_id)
    small_llg = llg_tokenizer(small, vocab_size=len(small))
    prompts = [small.encode(p) + [small.sep_token_id] for p in PROMPTS]
    # EOS is pushed down (finite) so that every run decodes about max_tokens tokens.
    cfg = dict(greedy=True, max_tokens=48, eos_bias=-1e4)

    def decoder(backend):
        return Decoder(backend, lambda: GrammarConstraint(small_llg, robot, len(small)),
                       eos_token=small.eos_token_id, detokenize=small.decode)

    rounds = max(2, repeats // 50)
    strict, free = DecodeConfig(mode='strict', **cfg), DecodeConfig(mode='free', **cfg)
    eager = decoder(TorchBackend(model, device='cpu'))
    with tempfile.TemporaryDirectory() as folder:
        export_onnx(model, folder)
        onnx = decoder(OnnxBackend(folder))
        runs = {'unconstrained': (eager, free), 'constrained': (eager, strict),
                'onnx_constrained': (onnx, strict)}
        _paired_tps(runs, prompts[:1], 1)  # warm-up
        tps = _paired_tps(runs, prompts, rounds)
    out['model'] = {'preset': 'default', 'vocab': len(small),
                    'base_params': model.base_parameter_count(),
                    'rail_params': model.rail_parameter_count(),
                    'tokens_per_s': {k: round(v, 1) for k, v in tps.items()},
                    'threads': torch.get_num_threads()}
    out['constrained_over_unconstrained_tps'] = round(tps['constrained'] / tps['unconstrained'],
                                                      3)
    out['onnx_over_torch_tps'] = round(tps['onnx_constrained'] / tps['constrained'], 3)
    return out


if __name__ == '__main__':
    import json
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300), indent=2))
