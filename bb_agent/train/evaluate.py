"""Scoring decoded programs: syntax validity, exact match, checker approval, graph distance.

One :class:`Prediction` per example and decode setting; :func:`score` turns a list of them
into rates. Checker approval needs the example's world (robot data); graph edit distance
compares the predicted plan DAG with the gold one (nodes labelled by skill).
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
import statistics
import time

import lark
import networkx as nx

from bb_agent.core.check.checker import check_plan
from bb_agent.core.check.violations import SAFETY_CODES
from bb_agent.core.dsl.grammar import Grammar
from bb_agent.core.outcomes import BBError
from bb_agent.core.prompting import world_symbols
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import world_from_dict
from bb_agent.train.dataset import Trace

LOG = logging.getLogger('bb_agent.eval')
GED_TIMEOUT_S = 0.5  # per pair; exact GED is exponential, plans here have <= ~12 nodes


@dataclass
class Prediction:
    """One decoded program and how it fared."""

    text: str
    outcome: str
    seconds: float
    tokens: int
    syntax_ok: bool = False
    exact: bool = False
    approved: bool | None = None  # None: no world to check in
    unsafe: bool | None = None
    ged: float | None = None


def syntax_parser(grammar: Grammar) -> lark.Lark:
    """Return a parser that accepts exactly the grammar's language."""
    try:
        return lark.Lark(grammar.text, parser='lalr')
    except lark.exceptions.GrammarError:
        return lark.Lark(grammar.text, parser='earley')


def decode_rows(planner, rows: list[Trace], cfg, schema: DomainSchema | None = None,
                progress=None) -> list[Prediction]:
    """Decode every row with ``cfg``; time each plan (seconds, wall clock).

    With a schema and a world per row, symbol values are limited to that world's ids and
    the schema's enums, as the builder node does at run time. ``progress``: a
    :class:`~bb_agent.train.progress.Progress` counting plans.
    """
    out = []
    for row in rows:
        symbols = None
        if schema is not None and row.world is not None and cfg.mode != 'free':
            symbols = world_symbols(world_from_dict(row.world), schema.enum_values())
        start = time.perf_counter()
        result = planner.plan(row.input, row.context, cfg, symbols=symbols)
        out.append(Prediction(result.text, result.outcome.value,
                              time.perf_counter() - start, len(result.tokens)))
        if progress is not None:
            progress.update(1)
    return out


def sample_rows(rows: list, n: int, seed: int, what: str) -> list:
    """Return ``n`` rows drawn uniformly at random (kept in file order), or all of them.

    Taking the first n would evaluate a sorted file's shortest (or easiest) rows only;
    drawing says so in the log.
    """
    if len(rows) <= n:
        return rows
    import random
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    LOG.warning('%s: evaluating %d of %d rows, drawn at random (seed %d; --limit)', what, n,
                len(rows), seed)
    return [rows[i] for i in keep]


def plan_graph(text: str, schema: DomainSchema) -> nx.DiGraph | None:
    """Return the plan DAG of ``text`` (nodes labelled by skill), or None if it does not parse."""
    from bb_agent.train.synth_compose import plan_dag
    try:
        dag = plan_dag(text, schema)
    except (BBError, ValueError):
        return None
    return dag_to_nx(dag)


def dag_to_nx(dag: dict) -> nx.DiGraph:
    """Return a trace-format graph (``nodes``, ``edges``) as a networkx DiGraph."""
    g = nx.DiGraph()
    for i, skill in enumerate(dag['nodes']):
        g.add_node(i, skill=skill)
    g.add_edges_from((int(a), int(b)) for a, b in dag['edges'])
    return g


def graph_edit_distance(pred: nx.DiGraph | None, gold: nx.DiGraph) -> float:
    """Return the edit distance (unit costs; deleting all of gold when pred is None)."""
    if pred is None:
        return float(gold.number_of_nodes() + gold.number_of_edges())
    ged = nx.graph_edit_distance(pred, gold, node_match=lambda a, b: a['skill'] == b['skill'],
                                 timeout=GED_TIMEOUT_S)
    return float(ged)


def annotate(preds: list[Prediction], rows: list[Trace], parser: lark.Lark,
             schema: DomainSchema | None, *, with_ged: bool = False) -> None:
    """Fill syntax, exact match, approval, safety and (optionally) GED in place."""
    for pred, row in zip(preds, rows, strict=True):
        pred.exact = pred.text.strip() == row.output.strip()
        try:
            parser.parse(pred.text)
            pred.syntax_ok = True
        except lark.exceptions.LarkError:
            pred.syntax_ok = False
        if schema is not None and row.world is not None:
            verdict = check_plan(pred.text, schema, world_from_dict(row.world))
            # A decode cut short by the budget is never used (the runtime falls back), even
            # when its whole-statement prefix would pass the checker.
            pred.approved = verdict.approved and pred.outcome == 'ok'
            pred.unsafe = any(v.blocking and v.code in SAFETY_CODES
                              for v in verdict.violations)
        if with_ged and schema is not None and row.graph is not None:
            pred.ged = 0.0 if pred.exact else graph_edit_distance(
                plan_graph(pred.text, schema) if pred.syntax_ok else None, dag_to_nx(row.graph))


def _rate(values: list[bool | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def score(preds: list[Prediction]) -> dict:
    """Return rates and timings of ``preds`` (None where a metric does not apply)."""
    times = sorted(p.seconds for p in preds)
    geds = [p.ged for p in preds if p.ged is not None]
    return {'n': len(preds), 'syntax_valid': _rate([p.syntax_ok for p in preds]),
            'finished': _rate([p.outcome == 'ok' for p in preds]),
            'exact_match': _rate([p.exact for p in preds]),
            'checker_approved': _rate([p.approved for p in preds]),
            'unsafe_rate': _rate([p.unsafe for p in preds]),
            'ged_mean': round(statistics.fmean(geds), 4) if geds else None,
            'seconds_per_plan': {'p50': round(times[len(times) // 2], 4),
                                 'p95': round(times[min(len(times) - 1,
                                                        int(0.95 * len(times)))], 4)}
            if times else None,
            'tokens_mean': round(statistics.fmean(p.tokens for p in preds), 1) if preds else 0}


def win_rate(candidate: list[Prediction], baseline: list[Prediction]) -> float:
    """Return the pairwise win rate of ``candidate`` over ``baseline`` (ties count half).

    An example is won when the candidate is exactly right and the baseline is not.
    """
    if not candidate:
        return 0.0
    points = sum(1.0 if c.exact and not b.exact else 0.5 if c.exact == b.exact else 0.0
                 for c, b in zip(candidate, baseline, strict=True))
    return round(points / len(candidate), 4)
