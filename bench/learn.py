"""One learn -> gate cycle on this CPU: a new phrasing taught from the ledger, then gated.

1. A run ledger with ``N`` requests in a phrasing the model was not trained on ("yeet the
   red cup into bin A"), each executed and succeeded with the right plan (written by the
   real :class:`~bb_agent.safety.ledger.Ledger`).
2. ``learn`` (adapters and routers only) from the shipped model on those examples.
3. The phrasing's exact-match accuracy on held-out requests of the same phrasing (other
   objects and bins), shipped model against candidate.
4. The promotion gate, candidate against the shipped model, on the full gate data
   (``config/gate.yaml``): the decision, every metric, the wall time.

``--repeats 1`` runs the gate on 2 rows per set (a smoke run).
"""

from __future__ import annotations

import itertools
from pathlib import Path
import tempfile
import time

from bench.timing import machine

OBJECTS = ('red_cup', 'blue_block', 'green_ball')
BINS = ('bin_a', 'bin_b')
SAY = {'red_cup': 'red cup', 'blue_block': 'blue block', 'green_ball': 'green ball',
       'bin_a': 'bin A', 'bin_b': 'bin B'}


def _program(obj: str, target: str) -> str:
    return f's1 = pick(object={obj});\ns2 = place(object={obj}, target={target});\n'


def _accuracy(planner, cases, context) -> float:
    from bb_agent.model.decoding import DecodeConfig
    cfg = DecodeConfig(greedy=True, max_tokens=128, timeout_s=30.0)
    hits = [planner.plan(text, context, cfg).text.strip() == gold.strip()
            for text, gold in cases]
    return sum(hits) / len(hits)


def run(repeats: int = 300) -> dict:
    """Run the cycle; see the module docstring."""
    from bb_agent.core.prompting import world_context
    from bb_agent.core.resources import config_path
    from bb_agent.core.world import load_world
    from bb_agent.model.checkpoint import default_model_dir, load_checkpoint
    from bb_agent.model.planner import Planner
    from bb_agent.safety.ledger import Ledger
    from bb_agent.safety.promote import load_gate_config, run_gate
    from bb_agent.train.learn import LearnConfig, examples_from_ledger, learn
    context = world_context(load_world(config_path('worlds', 'tabletop.json')))
    pairs = list(itertools.product(OBJECTS, BINS))
    taught = [(f'yeet the {SAY[o]} into {SAY[b]}{tail}', _program(o, b))
              for (o, b), tail in zip(pairs[:4], ('', ' please', ' now', ', thanks'), strict=True)]
    held = [(f'could you yeet the {SAY[o]} into {SAY[b]}', _program(o, b))
            for o, b in pairs[4:]] + [(f'yeet the {SAY[o]} over to {SAY[b]}', _program(o, b))
                                      for o, b in pairs[:2]]
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(Path(tmp) / 'ledger.jsonl')
        for i, (text, program) in enumerate(taught):
            cid = f'learn-{i}'
            ledger.record('request', correlation_id=cid, actor='bench', session='',
                          domain='robot', text=text, request_key='', dry_run=False)
            ledger.record('verdict', correlation_id=cid, approved=True, program=program,
                          repairs=[], violations=[], context=context)
            ledger.record('outcome', correlation_id=cid, outcome=0, code=0, message='')
        examples = examples_from_ledger(ledger.path)
        start = time.monotonic()
        report = learn(default_model_dir(), examples, Path(tmp) / 'candidate', LearnConfig())
        learn_s = time.monotonic() - start
        before = _accuracy(Planner(load_checkpoint(None), device='cpu'), held, context)
        after = _accuracy(Planner(load_checkpoint(Path(tmp) / 'candidate'), device='cpu'),
                          held, context)
        cfg = load_gate_config()
        if repeats == 1:
            cfg = cfg.model_copy(update={'data': cfg.data.model_copy(update={'limit': 2})})
        gate = run_gate(Path(tmp) / 'candidate', default_model_dir(), cfg)
    return {'machine': machine(), 'examples': len(examples), 'held_out': len(held),
            'learn_s': round(learn_s, 1), 'loss_before': report.loss_before,
            'loss_after': report.loss_after, 'adapter_grad_norm': report.grad_norm,
            'born': report.born, 'merged': len(report.merged),
            'frozen_unchanged': report.frozen_unchanged, 'changed': report.changed,
            'phrasing_exact_before': before, 'phrasing_exact_after': after,
            'gate': {'decision': gate.decision.name, 'failed': gate.failed,
                     'seconds': round(gate.seconds, 1),
                     'metrics': [m.__dict__ for m in gate.metrics]}}
