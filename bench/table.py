"""Print the benchmark results in bench/results/ as the README's markdown table."""

from __future__ import annotations

import json
from pathlib import Path
import sys


def checker_rows(doc: dict) -> list[str]:
    """Return table rows for the checker benchmark."""
    rows = []
    for key in ('nodes_10', 'nodes_50', 'nodes_200'):
        r = doc[key]
        rows.append(f'| checker parse+check, {key[6:]} nodes | {r["p50_us"]:,.0f} µs | '
                    f'{r["p99_us"]:,.0f} µs | parse {r["parse_share"]:.0%} of the time |')
    return rows


def main(folder: str) -> int:
    """Print the table for every known result file in ``folder``."""
    print('| benchmark | p50 | p99 | note |\n|---|---|---|---|')
    path = Path(folder) / 'checker.json'
    if path.exists():
        print('\n'.join(checker_rows(json.loads(path.read_text()))))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'bench/results'))
