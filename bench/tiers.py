"""Tiers benchmark: the pretrained (SmolLM2) tier against the fast tier; torch against ORT.

- ``tokens_per_s``: the pretrained tier decoding under the strict mask (EOS held off so
  every run is 32 tokens), torch eager vs ONNX Runtime fp32 vs ORT int8 (dynamic
  quantisation of the fp32 export), interleaved in one process; ratios to torch.
- ``chains``: test_natural through the offline door (anchors, builder chain with the
  gate and calibrated deferral, checker with repair, gate on the checked plan) for the fast
  tier alone, the pretrained tier alone (torch, ORT fp32, ORT int8) and the two tiers (fast
  first, escalating to the pretrained one on ORT): correct share (as gold says: the right
  plan executed, or nothing moved), faithful share of the plan cases, and request ->
  approved plan latency p50/p95 over the requests that executed.

The pretrained tier is ``models/smollm2`` (or ``$BB_TIER_CHECKPOINT``); it needs the
converted base (``make setup``). Exports go to a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path
import tempfile
import time

from bench.timing import machine, percentile

PROMPTS = [('put the red cup in bin a', 'objects: red_cup blue_block; bins: bin_a; human: none'),
           ('wave, then go home', 'objects: ; bins: ; human: none'),
           ('if a person is near stop, else pick the green block and place it on the tray',
            'objects: green_block; bins: tray; human: none')]


def tier_dir() -> Path:
    """Return the pretrained tier's checkpoint folder."""
    from bb_agent.core.resources import share_path
    return Path(os.environ.get('BB_TIER_CHECKPOINT') or share_path('models', 'smollm2'))


def _tokens_per_s(planners: dict, rounds: int) -> dict:
    from bb_agent.model.decoding import DecodeConfig
    cfg = DecodeConfig(greedy=True, max_tokens=32, eos_bias=-1e4)
    tokens, spent = dict.fromkeys(planners, 0), dict.fromkeys(planners, 0.0)
    names = list(planners)
    for name in names:  # warm-up: first calls pay allocations
        planners[name].plan(*PROMPTS[0], cfg)
    for r in range(rounds):
        for prompt in PROMPTS:
            for name in names[r % len(names):] + names[:r % len(names)]:
                start = time.perf_counter()
                result = planners[name].plan(*prompt, cfg)
                spent[name] += time.perf_counter() - start
                tokens[name] += max(1, result.steps)
    return {name: round(tokens[name] / spent[name], 2) for name in names}


def _chain(rows, schema, decode, cal, escalate=None, escalate_cal=None) -> dict:
    from bb_agent.safety.door import Door
    from bb_agent.safety.shadow import correct
    door = Door(decode, schema, calibration=cal, escalate=escalate,
                escalate_calibration=escalate_cal)
    right, faithful, plans, latency, escalated = 0, 0, 0, [], 0
    for row in rows:
        start = time.perf_counter()
        d = door.decide(row.text, row.world, row.history)
        seconds = time.perf_counter() - start
        ok = correct(d, row, schema)
        right += ok
        if row.gold == 'plan':
            plans += 1
            faithful += ok
        if d.outcome == 'executed':
            latency.append(seconds)
            escalated += d.message.startswith('escalated')
    return {'n': len(rows), 'correct': round(right / len(rows), 4),
            'faithful': round(faithful / max(1, plans), 4), 'plan_cases': plans,
            'executed': len(latency), 'escalated': escalated,
            'approved_plan_s': {'p50': round(percentile(latency, 0.5), 3),
                                'p95': round(percentile(latency, 0.95), 3)} if latency
            else None}


def run(repeats: int = 300) -> dict:
    """Run both parts; ``repeats`` scales the rounds and the natural requests used."""
    from onnxruntime.quantization import QuantType, quantize_dynamic
    import torch

    from bb_agent.core.intent.calibration import load_calibration
    from bb_agent.core.intent.natural import load_natural
    from bb_agent.core.schema import load_schema
    from bb_agent.model.checkpoint import load_checkpoint
    from bb_agent.model.decoding import DecodeConfig
    from bb_agent.model.onnx_export import export_onnx
    from bb_agent.model.planner import Planner
    from bb_agent.safety.shadow import rows_from_natural
    torch.set_num_threads(int(os.environ.get('BB_BENCH_THREADS', '1')))
    out: dict = {'machine': machine(), 'torch_threads': torch.get_num_threads()}
    fast_ck, big_ck = load_checkpoint(None), load_checkpoint(tier_dir())
    big = Planner(big_ck, device='cpu')
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        export_onnx(big.model, Path(tmp) / 'fp32')
        out['export_s'] = round(time.perf_counter() - start, 1)
        (Path(tmp) / 'int8').mkdir()
        quantize_dynamic(str(Path(tmp) / 'fp32' / 'model.onnx'),
                         str(Path(tmp) / 'int8' / 'model.onnx'), weight_type=QuantType.QInt8)
        (Path(tmp) / 'int8' / 'onnx_manifest.json').write_bytes(
            (Path(tmp) / 'fp32' / 'onnx_manifest.json').read_bytes())
        out['onnx_mb'] = {k: round(sum(f.stat().st_size for f in (Path(tmp) / k).iterdir())
                                   / 1e6, 1) for k in ('fp32', 'int8')}
        planners = {'torch': big,
                    'ort_fp32': Planner(big_ck, backend='onnx', onnx_dir=Path(tmp) / 'fp32'),
                    'ort_int8': Planner(big_ck, backend='onnx', onnx_dir=Path(tmp) / 'int8')}
        tps = _tokens_per_s(planners, max(2, repeats // 100))
        out['tokens_per_s'] = {**tps, 'ort_fp32_over_torch': round(tps['ort_fp32'] /
                                                                   tps['torch'], 3),
                               'ort_int8_over_torch': round(tps['ort_int8'] / tps['torch'], 3)}
        schema = load_schema('robot')
        rows = rows_from_natural(load_natural())[:max(20, min(222, repeats))]
        cfg = DecodeConfig(greedy=True, max_tokens=256, timeout_s=60.0)

        def decode(planner):
            return lambda request, context, symbols: planner.plan(request, context, cfg,
                                                                  symbols=symbols)
        fast = Planner(fast_ck, device='cpu')
        fast_cal, big_cal = load_calibration(fast_ck.folder), load_calibration(big_ck.folder)
        out['chains'] = {'fast': _chain(rows, schema, decode(fast), fast_cal)}
        for name, planner in planners.items():
            out['chains'][f'pretrained_{name}'] = _chain(rows, schema, decode(planner), big_cal)
        out['chains']['tiered_fast_then_ort_fp32'] = _chain(
            rows, schema, decode(fast), fast_cal, decode(planners['ort_fp32']), big_cal)
    return out
