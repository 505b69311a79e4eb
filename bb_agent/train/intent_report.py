"""The evaluation report's intent section: the guard's numbers and the reliability diagram."""

from __future__ import annotations

from pathlib import Path


def _pct(value) -> str:
    return '—' if value is None else f'{100 * value:.1f}%'


def _ece(value) -> str:
    return '—' if value is None else f'{value:.3f}'


def reliability_plot(intent: dict, out: Path) -> str:
    """Write ``reliability.png``: accuracy against confidence per split, both chains."""
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
    splits = intent['splits']
    fig, axes = plt.subplots(1, len(splits), figsize=(3.2 * len(splits), 3.2), squeeze=False)
    for ax, (name, s) in zip(axes[0], splits.items(), strict=True):
        ax.plot([0, 1], [0, 1], color='k', linestyle=':', linewidth=1)
        for who, colour in (('unguarded', 'tab:gray'), ('guarded', 'tab:blue')):
            bins = s[who]['reliability']
            ax.plot([b['confidence'] for b in bins], [b['accuracy'] for b in bins],
                    marker='o', color=colour,
                    label=f'{who} (raw)' if who == 'unguarded' else f'{who} (calibrated)')
        ax.set(title=name, xlim=(0, 1), ylim=(0, 1), xlabel='confidence')
        ax.set_ylabel('share faithful')
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / 'reliability.png', dpi=90)
    plt.close(fig)
    return 'reliability.png'


def intent_section(intent: dict, out: Path) -> tuple[list[str], list[str]]:
    """Return the section's markdown lines and its plots."""
    cal = intent['calibration']
    lines = ['', '## Only what was asked: the intent guard', '',
             'Each request decided offline by the chain the nodes run: *guarded* (anchors, '
             'builder, checker, intent gate, calibrated confidence) and *unguarded* (builder '
             'and checker only). *faithful*: ended as the gold says; *unrequested*: executed a '
             'step the gold does not have; *ECE*: of the confidence that drives deferral '
             '(raw unguarded, calibrated guarded) against "the model\'s plan is the gold plan"; '
             '*false deferral*: requests the unguarded chain executed faithfully that the '
             'guard deferred or refused.', '',
             f'Calibration: a = {cal["a"]:.3f}, b = {cal["b"]:.3f}, refused-plan value '
             f'{cal["fail"]:.3f} ({cal["fitted_on"]}).', '',
             '| split | n | faithful (guarded / unguarded) | unrequested (guarded / '
             'unguarded) | deferral (guarded / unguarded) | ECE (guarded / unguarded raw) | '
             'false deferral |', '|---|---|---|---|---|---|---|']
    for name, s in intent['splits'].items():
        g, u = s['guarded'], s['unguarded']
        lines.append(f'| {name} | {g["n"]} | {_pct(g["faithful"])} / {_pct(u["faithful"])} | '
                     f'{_pct(g["unrequested"])} / {_pct(u["unrequested"])} | '
                     f'{_pct(g["deferral"])} / {_pct(u["deferral"])} | {_ece(g["ece"])} / '
                     f'{_ece(u["ece"])} | {_pct(s["false_deferral"])} '
                     f'({s["false_deferral_count"]} of {s["model_right"]}) |')
    adv = intent['splits'].get('test_natural', {}).get('guarded', {}).get('adversarial')
    if adv:
        lines += ['', f'test_natural adversarial part (stop, over-limit, injection; n = '
                      f'{adv["n"]}): {_pct(adv["as_gold"])} ended as the gold says, '
                      f'{adv["moved"]} moved the robot.']
    return lines, [reliability_plot(intent, out)]
