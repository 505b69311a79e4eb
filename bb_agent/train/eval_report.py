"""The evaluation battery's markdown report and its plots (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path
import shutil


def _pct(value) -> str:
    return '—' if value is None else f'{100 * value:.1f}%'


def _plots(metrics: dict, out: Path) -> list[str]:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    names = []
    if 'splits' in metrics:
        names.append(_splits_plot(plt, metrics['splits'], out))
    if 'takeover' in metrics:
        names.append(_takeover_plot(plt, metrics, out))
    if 'ablation' in metrics:
        names.append(_ablation_plot(plt, metrics['ablation'], out))
    return names


def _splits_plot(plt, splits: dict, out: Path) -> str:
    fig, ax = plt.subplots(figsize=(8, 3.5))
    labels = list(splits)
    for offset, (who, colour) in enumerate((('builder', 'tab:blue'),
                                            ('base_only', 'tab:gray'))):
        ax.bar([i + 0.4 * offset for i in range(len(labels))],
               [splits[s][who]['exact_match'] or 0 for s in labels], width=0.4,
               label=f'{who} exact match', color=colour)
    ax.set_xticks([i + 0.2 for i in range(len(labels))], labels)
    ax.set(ylim=(0, 1), title='exact match per split (strict mask)')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / 'splits.png', dpi=90)
    plt.close(fig)
    return 'splits.png'


def _takeover_plot(plt, metrics: dict, out: Path) -> str:
    sweep = metrics['takeover']['points']
    fig, ax = plt.subplots(figsize=(6, 3.5))
    alphas = [p['alpha'] for p in sweep]
    ax.plot(alphas, [p['win_rate_vs_base'] for p in sweep], marker='o', label='win rate vs base')
    ax.plot(alphas, [p['exact_match'] for p in sweep], marker='s', label='exact match')
    ax.plot(alphas, [p['unsafe_rate'] or 0 for p in sweep], marker='x', label='unsafe rate')
    ax.axvline(metrics['alpha_trained'], color='k', linestyle=':', label='trained alpha')
    ax.set(xlabel='alpha_max', ylim=(0, 1), title='takeover sweep (compositional)')
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / 'takeover.png', dpi=90)
    plt.close(fig)
    return 'takeover.png'


def _ablation_plot(plt, abl: dict, out: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 3.5))
    xs = [0.0] + [p['dropped_fraction'] for p in abl['points']]
    ax.plot(xs, [abl['full_exact_match']] + [p['exact_match'] for p in abl['points']],
            marker='o')
    ax.set(xlabel='fraction of skills dropped', ylabel='exact match', ylim=(0, 1),
           title='skill ablation (compositional)')
    fig.tight_layout()
    fig.savefig(out / 'ablation.png', dpi=90)
    plt.close(fig)
    return 'ablation.png'


def write_report(metrics: dict, out: Path, *, curves: Path | None = None) -> Path:
    """Write ``report.md`` (and its PNGs) into ``out``; return the report path."""
    plots = _plots(metrics, out)
    if curves is not None and curves.exists():
        shutil.copy(curves, out / 'curves.png')
        plots.append('curves.png')
    lines = [f'# Evaluation of `{metrics["checkpoint"]}`', '',
             f'Data: `{metrics["data"]}`; grammar `{metrics["grammar"]}`; trained alpha_max '
             f'{metrics["alpha_trained"]:.2f}; {metrics["base_params"]:,} base + '
             f'{metrics["rail_params"]:,} rail parameters.']
    if 'splits' in metrics:
        lines += _split_lines(metrics)
    lines += _rest_lines(metrics)
    if 'intent' in metrics:
        from bb_agent.train.intent_report import intent_section
        more, pngs = intent_section(metrics['intent'], out)
        lines += more
        plots += pngs
    lines += [''] + [f'![{p}]({p})' for p in plots]
    path = out / 'report.md'
    path.write_text('\n'.join(lines) + '\n')
    return path


def _split_lines(metrics: dict) -> list[str]:
    lines = ['', '## Per split (greedy, strict mask unless noted)', '',
             '*finished*: the decode ended by itself (EOS) within the token budget; a cut one '
             'keeps its whole statements (so it parses) but is never counted as approved.', '',
             '| split | n | syntax valid | finished | exact | approved | unsafe | GED '
             '| base-only exact | base-only approved | unmasked syntax valid | s/plan p50 |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for name, s in metrics['splits'].items():
        b, base, free = s['builder'], s['base_only'], s['unmasked']
        ged = '—' if b['ged_mean'] is None else f'{b["ged_mean"]:.3f}'
        lines.append(f'| {name} | {b["n"]} | {_pct(b["syntax_valid"])} | '
                     f'{_pct(b.get("finished"))} | {_pct(b["exact_match"])} | '
                     f'{_pct(b["checker_approved"])} | '
                     f'{_pct(b["unsafe_rate"])} | {ged} | {_pct(base["exact_match"])} | '
                     f'{_pct(base["checker_approved"])} | {_pct(free["syntax_valid"])} | '
                     f'{b["seconds_per_plan"]["p50"]:.3f} |')
    return lines


def _rest_lines(metrics: dict) -> list[str]:
    """Return the sections of whichever of takeover, ablation and stacking were run."""
    lines = []
    if 'takeover' in metrics:
        lines += _takeover_lines(metrics['takeover'])
    if 'ablation' in metrics:
        lines += _ablation_lines(metrics['ablation'])
    if 'stacking' in metrics:
        lines += _stacking_lines(metrics['stacking'])
    return lines


def _takeover_lines(sweep: dict) -> list[str]:
    lines = ['', f'## Takeover sweep ({sweep["split"]}, n={sweep["n"]})', '',
              '| alpha_max | exact | win rate vs base | approved | unsafe |',
              '|---|---|---|---|---|']
    lines += [f'| {p["alpha"]:.2f} | {_pct(p["exact_match"])} | {p["win_rate_vs_base"]:.3f} | '
              f'{_pct(p["checker_approved"])} | {_pct(p["unsafe_rate"])} |'
              for p in sweep['points']]
    return lines + ['', f'Unsafe-rate spread across the sweep: {_pct(sweep["unsafe_spread"])}.']


def _ablation_lines(abl: dict) -> list[str]:
    lines = ['', f'## Skill ablation ({abl["split"]}, n={abl["n"]}; all skills: '
                  f'{_pct(abl["full_exact_match"])})', '',
              '| skills dropped | exact | drop |', '|---|---|---|']
    lines += [f'| {100 * p["dropped_fraction"]:.0f}% | {_pct(p["exact_match"])} | '
              f'{100 * p["drop"]:+.1f} pts |' for p in abl['points']]
    return lines


def _stacking_lines(st: dict) -> list[str]:
    return ['', '## Skill stacking', '',
              f'One new skill per block trained on {st["shots"]} examples of `{st["shots_from"]}` '
              f'for {st["steps"]} steps (everything else frozen): {st["split"]} exact match '
              f'{_pct(st["exact_before"])} -> {_pct(st["exact_after"])}.',
              f'Each skill adds {st["params_added_per_skill"]:,} parameters '
              f'({100 * st["params_added_fraction"]:.2f}% of the rail); rail parameters grow '
              f'with library size at log-log slope {st["growth_exponent"]:.3f} '
              f'({"sublinear" if st["sublinear"] else "NOT sublinear"}).']
