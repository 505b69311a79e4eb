"""Checker benchmark: parse + check of generated valid plans of 10, 50 and 200 nodes.

Writes ``{"nodes_10": {"p50_us", "p99_us", ...}, "nodes_50": ..., "nodes_200": ...}``.
Each size also reports, measured in the same process on the same plan, the parse alone
and the checker stages alone (on the parsed program), so where the time goes is part of
the result rather than a guess.
"""

from __future__ import annotations

from bb_agent.core.check.checker import check_plan
from bb_agent.core.dsl.parser import parse_program
from bb_agent.core.resources import config_path
from bb_agent.core.schema import load_schema
from bb_agent.core.world import load_world
from bench.plans import plan_text
from bench.timing import machine, summary, time_calls

SIZES = (10, 50, 200)
BUDGET_S = 1e6  # the bench plans are long; their duration is not what is measured
GOALS = {'nodes_10': ('p50_us', 150.0), 'nodes_200': ('p99_us', 5000.0)}


def run(*, repeats: int = 300) -> dict:
    """Measure every size; return the result document."""
    schema = load_schema('robot')
    world = load_world(config_path('worlds', 'tabletop.json'))
    out: dict = {}
    for size in SIZES:
        text = plan_text(size)
        prog = parse_program(text)
        verdict = check_plan(text, schema, world, budget_s=BUDGET_S)
        if not verdict.approved or len(verdict.graph.nodes) != size:
            raise RuntimeError(f'bench plan of {size} nodes is not a valid plan: '
                               f'{[v.code.name for v in verdict.violations]}')
        n = max(30, repeats * 10 // size)
        total = summary(time_calls(lambda t=text: check_plan(t, schema, world, budget_s=BUDGET_S),
                                   repeats=n))
        parse = summary(time_calls(lambda t=text: parse_program(t), repeats=n))
        stages = summary(time_calls(lambda g=prog: check_plan(g, schema, world, budget_s=BUDGET_S),
                                    repeats=n))
        out[f'nodes_{size}'] = {**total, 'parse_p50_us': parse['p50_us'],
                                'stages_p50_us': stages['p50_us'],
                                'parse_share': round(parse['p50_us'] / total['p50_us'], 3)}
    out['goals'] = {k: {'metric': m, 'goal_us': g, 'measured_us': out[k][m],
                        'met': out[k][m] <= g} for k, (m, g) in GOALS.items()}
    out['machine'] = machine()
    return out
