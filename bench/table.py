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


def soundness_rows(doc: dict) -> list[str]:
    """Return table rows for the soundness benchmark (counts, and time per trial)."""
    return [f'| approved plans the monitor stopped, {doc["plans"]:,} random plans | '
            f'{doc["violations"]} | | goal 0; {doc["approved"]:,} approved |',
            f'| false rejections (rejected for V_s only, ran without STOP) | '
            f'{doc["false_rejection_rate"]:.1%} | | {doc["false_rejections"]} of '
            f'{doc["vs_only_rejected"]} |',
            f'| soundness trial (check + sim run) | {doc["trial_ms"]["p50"]:.1f} ms | '
            f'{doc["trial_ms"]["p99"]:.1f} ms | |']


def decode_rows(doc: dict) -> list[str]:
    """Return table rows for the decoding benchmark."""
    rows = []
    for key in ('mask_us', 'mask_us_json'):
        r = doc[key]
        rows.append(f'| grammar mask, {r["grammar"]}, {r["vocab"]:,} tokens | '
                    f'{r["p50"]:,.1f} µs | {r["p99"]:,.0f} µs | max {r["max"]:,.0f} µs |')
    tps, comp = doc['model']['tokens_per_s'], doc['compile_ms_detail']
    rows.append(f'| grammar compile, robot_dsl | {doc["compile_ms"]:.1f} ms | '
                f'{comp["p99"]:.1f} ms | first {comp["first"]:.1f} ms |')
    rows.append(f'| constrained / unconstrained, torch CPU | '
                f'{doc["constrained_over_unconstrained_tps"]:.2f}× | | '
                f'{tps["constrained"]:.0f} vs {tps["unconstrained"]:.0f} tokens/s |')
    rows.append(f'| ONNX Runtime / torch, CPU, strict | {doc["onnx_over_torch_tps"]:.2f}× | | '
                f'{tps["onnx_constrained"]:.0f} vs {tps["constrained"]:.0f} tokens/s |')
    return rows


def runtime_rows(doc: dict) -> list[str]:
    """Return table rows for the runtime benchmark (milliseconds, across processes)."""
    s, r, d = doc['stop_latency_ms'], doc['request_to_plan_ms'], doc['dispatch_overhead_ms']
    return [f'| STOP latency, hazard -> estop | {s["p50"]:.1f} ms | {s["p99"]:.1f} ms | '
            f'goal p99 <= 20 ms, n={s["n"]} |',
            f'| request -> approved plan | {r["p50"]:.0f} ms | p95 {r["p95"]:.0f} ms | '
            f'goal p50 <= 300 ms, n={r["n"]} |',
            f'| executor dispatch overhead per node | {d["p50"]:.2f} ms | {d["p99"]:.2f} ms | '
            f'goal p50 <= 5 ms, n={d["n"]} |']


def stale_rows(doc: dict) -> list[str]:
    """Return table rows for the stale-state benchmark."""
    s = doc['stale_to_stop_ms']
    return [f'| false STOPs at idle, {doc["load_processes"]} busy processes | '
            f'{doc["false_stops_per_hour"]:g} /h | | goal 0 /h; {doc["false_stops"]} in '
            f'{doc["idle_under_load_s"]:g} s |',
            f'| state source frozen -> STOP | {s["p50"]} ms | {s["p99"]} ms | goal <= 300 ms; '
            f'{s["n"]} of {s["of"]} |']


def http_rows(doc: dict) -> list[str]:
    """Return table rows for the HTTP load benchmark."""
    lat = doc['latency_ms']
    return [f'| HTTP API, {doc["clients"]} concurrent clients, {doc["requests"]:,} requests | '
            f'{lat["p50"]:.0f} ms | {lat["p99"]:.0f} ms | lost {doc["lost"]} (goal 0); '
            f'{", ".join(f"{k}: {v}" for k, v in doc["by_status"].items())} |']


def doors_rows(doc: dict) -> list[str]:
    """Return table rows for the per-door latency benchmark."""
    names = {'http_dry_run': 'HTTP API dry run "go home" (the baseline)',
             'api_call': 'API door: api_json request -> plan, check, HTTP call',
             'chat_reply': 'chat door: XMPP message -> reply (prosody, social)',
             'console_state': 'console: GET /v1/console/state'}
    rows = []
    for key, title in names.items():
        lat = doc['latency_ms'].get(key)
        if lat is None:
            rows.append(f'| {title} | - | - | not measured (make setup-bridges) |')
            continue
        ratio = lat.get('p50_over_http_dry_run')
        rows.append(f'| {title} | {lat["p50"]:.0f} ms | {lat["p99"]:.0f} ms | n {lat["n"]}'
                    f'{f", {ratio:.2f}x the baseline p50" if ratio else ""} |')
    return rows


def tiers_rows(doc: dict) -> list[str]:
    """Return table rows for the tiers benchmark (pretrained tier, torch vs ORT)."""
    t = doc['tokens_per_s']
    rows = [f'| pretrained tier decoding, tokens/s (torch / ORT fp32 / ORT int8) | '
            f'{t["torch"]} / {t["ort_fp32"]} / {t["ort_int8"]} | | ORT fp32 '
            f'{t["ort_fp32_over_torch"]:.2f}x, int8 {t["ort_int8_over_torch"]:.2f}x torch '
            f'(goal >= 2x); {doc["torch_threads"]} thread |']
    for name, c in doc['chains'].items():
        lat = c['approved_plan_s'] or {'p50': float('nan'), 'p95': float('nan')}
        rows.append(f'| test_natural via the door, {name} | {1000 * lat["p50"]:.0f} ms | '
                    f'{1000 * lat["p95"]:.0f} ms (p95) | correct {100 * c["correct"]:.1f}%, '
                    f'faithful {100 * c["faithful"]:.1f}% of {c["plan_cases"]}, '
                    f'escalated {c["escalated"]} |')
    return rows


def learn_rows(doc: dict) -> list[str]:
    """Return table rows for one learn -> gate cycle (single runs: no p99)."""
    g = doc['gate']
    return [f'| learn, {doc["examples"]} ledger examples (adapters only) | {doc["learn_s"]:.1f} s '
            f'| | new phrasing exact {doc["phrasing_exact_before"]:.0%} -> '
            f'{doc["phrasing_exact_after"]:.0%} on {doc["held_out"]} held out; adapter '
            f'gradient {doc["adapter_grad_norm"]:.2g} |',
            f'| promotion gate, candidate vs shipped model | {g["seconds"]:.0f} s | | '
            f'{g["decision"]}; failed: {", ".join(g["failed"]) or "none"} |']


ROWS = (('checker', checker_rows), ('soundness', soundness_rows), ('decode', decode_rows),
        ('runtime', runtime_rows), ('http', http_rows), ('stale', stale_rows),
        ('doors', doors_rows), ('tiers', tiers_rows), ('learn', learn_rows))


def main(folder: str) -> int:
    """Print the table for every known result file in ``folder``."""
    print('| benchmark | p50 | p99 | note |\n|---|---|---|---|')
    for name, rows in ROWS:
        path = Path(folder) / f'{name}.json'
        if path.exists():
            print('\n'.join(rows(json.loads(path.read_text()))))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else 'bench/results'))
