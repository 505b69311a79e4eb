"""The demo report: plan-graph PNGs, the V_s timeline and the readable trace."""

from __future__ import annotations

import json
from pathlib import Path

STATE_NAMES = {0: 'pending', 1: 'running', 2: 'retrying', 3: 'done', 4: 'failed',
               5: 'skipped', 6: 'canceled'}
STATE_COLOURS = {'pending': '#999999', 'running': '#1a66ff', 'retrying': '#ff9900',
                 'done': '#22bb44', 'failed': '#dd2222', 'skipped': '#cccc55',
                 'canceled': '#884488'}


def plan_png(program: str, states: dict[str, int], path: Path, title: str) -> Path | None:
    """Draw the plan's DAG (layers left to right), nodes coloured by final state."""
    from bb_agent.core.check.plan_graph import build_graph
    from bb_agent.core.dsl.parser import parse_program
    try:
        graph = build_graph(parse_program(program), max_nodes=256)
    except Exception:  # a rejected plan may not parse; nothing to draw
        return None
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    layer, rows, pos = {}, {}, {}
    for n in graph.nodes:
        layer[n.id] = 1 + max((layer[d] for d in n.depends_on if d in layer), default=-1)
        row = rows.get(layer[n.id], 0)
        rows[layer[n.id]] = row + 1
        pos[n.id] = (layer[n.id], -row)
    fig, ax = plt.subplots(figsize=(2 + 1.6 * (max(layer.values()) + 1), 3))
    for n in graph.nodes:
        for d in n.depends_on:
            ax.annotate('', xy=pos[n.id], xytext=pos[d],
                        arrowprops={'arrowstyle': '->', 'color': '#555555'})
    for n in graph.nodes:
        state = STATE_NAMES.get(states.get(n.id, 0), 'pending')
        ax.scatter(*pos[n.id], s=900, color=STATE_COLOURS[state], zorder=3)
        ax.text(pos[n.id][0], pos[n.id][1] - 0.35, f'{n.id}\n{n.skill}\n({state})',
                ha='center', va='top', fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.axis('off')
    ax.margins(0.3)
    fig.savefig(path, dpi=90, bbox_inches='tight')
    plt.close(fig)
    return path


def vs_png(samples: list[tuple[float, float, bool]], threshold: float, marks, path: Path):
    """Plot V_s over the demo, shading the latched-STOP spans; ``marks``: (t, label)."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    samples = list(samples)  # a snapshot: the subscriber may still be appending
    fig, ax = plt.subplots(figsize=(10, 3.5))
    ts = [t for t, _v, _l in samples]
    vs = [min(v, 5.0) if v == v else 5.0 for _t, v, _l in samples]  # inf/NaN drawn at 5
    ax.plot(ts, vs, lw=1, label='V_s')
    ax.axhline(threshold, color='r', ls='--', label='threshold')
    ax.fill_between(ts, 0, 5, where=[latched for _t, _v, latched in samples], color='r',
                    alpha=0.15, label='STOP latched')
    for t, label in marks:
        ax.axvline(t, color='k', ls=':', lw=0.8)
        ax.text(t, 4.6, label, fontsize=7, rotation=90, va='top')
    ax.set(xlabel='time (s)', ylabel='V_s (dimensionless)', ylim=(0, 5),
           title='safety value during the demo')
    ax.legend(loc='upper right', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write(folder: Path, lines: list[str], results: list[dict]) -> None:
    """Write ``trace.md`` and ``scenario.json``."""
    (folder / 'trace.md').write_text('# bb_agent demo\n\n```\n' + '\n'.join(lines) + '\n```\n')
    (folder / 'scenario.json').write_text(json.dumps(results, indent=2) + '\n')
