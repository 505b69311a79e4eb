"""Soundness benchmark: approved => no STOP, on >= 10,000 random plans in random worlds.

Every plan is checked; approved plans, and plans rejected only for predicted V_s, run in the
sim robot with the safety monitor's logic stepping along (:mod:`bb_agent.safety.soundness`).
Writes the counts: ``violations`` (approved plans the monitor stopped; goal 0) and the
false-rejection rate (plans rejected only for V_s that ran without a STOP, over all such
plans), plus the checker's time per plan with the path sweep (p50/p99).
"""

from __future__ import annotations

import time

from bb_agent.core.schema import load_schema
from bb_agent.safety.soundness import trial
from bench.timing import machine, summary

PLANS = 10_000


def run(*, repeats: int = 300) -> dict:
    """Run ``PLANS`` trials (``repeats`` 1 runs 200: the key-check mode of the tests)."""
    schema = load_schema('robot')
    n = PLANS if repeats > 1 else 200
    approved = violations = vs_rejected = false_rejections = 0
    examples: list[dict] = []
    times = []
    start = time.perf_counter()
    for seed in range(n):
        t0 = time.perf_counter()
        result = trial(seed, schema)
        times.append((time.perf_counter() - t0) * 1e6)  # µs, as summary() expects
        approved += result.approved
        if result.approved and result.latched:
            violations += 1
            if len(examples) < 5:
                examples.append({'seed': seed, 'program': result.program,
                                 'reasons': result.reasons})
        if result.vs_only_rejection:
            vs_rejected += 1
            false_rejections += not result.latched
    return {'plans': n, 'approved': approved, 'violations': violations,
            'violation_examples': examples, 'vs_only_rejected': vs_rejected,
            'false_rejections': false_rejections,
            'false_rejection_rate': round(false_rejections / max(vs_rejected, 1), 4),
            'trial_ms': {k.replace('_us', ''): round(v / 1e3, 2)
                         for k, v in summary(times).items() if k.endswith('_us')},
            'wall_s': round(time.perf_counter() - start, 1), 'machine': machine()}
