"""The benchmarks produce the documented JSON keys (values are not asserted: not a timed test)."""

import json
from pathlib import Path
import subprocess
import sys

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))


def _bench(name: str, folder: Path) -> dict:
    """Run ``bb-agent bench NAME --repeats 1`` and return its JSON."""
    out = folder / f'{name}.json'
    result = subprocess.run([BB_AGENT, 'bench', name, '--out', str(out), '--repeats', '1'],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(out.read_text())


def test_when_checker_bench_runs_expect_documented_keys(tmp_path):
    doc = _bench('checker', tmp_path)
    for key in ('nodes_10', 'nodes_50', 'nodes_200'):
        assert {'p50_us', 'p99_us'} <= set(doc[key])
        assert doc[key]['p50_us'] > 0 and doc[key]['p99_us'] >= doc[key]['p50_us']
    assert set(doc['goals']) == {'nodes_10', 'nodes_200'}


def test_when_soundness_bench_runs_expect_documented_keys_and_no_violation(tmp_path):
    doc = _bench('soundness', tmp_path)
    assert doc['plans'] == 200 and doc['approved'] > 0
    assert doc['violations'] == 0, doc['violation_examples']
    assert 0.0 <= doc['false_rejection_rate'] <= 1.0
    assert {'p50', 'p99'} <= set(doc['trial_ms'])


def test_when_decode_bench_runs_expect_documented_keys(tmp_path):
    doc = _bench('decode', tmp_path)
    for key, grammar in (('mask_us', 'robot_dsl'), ('mask_us_json', 'api_json')):
        assert doc[key]['vocab'] == 32000 and doc[key]['grammar'] == grammar
        assert 0 < doc[key]['p50'] <= doc[key]['p99'] <= doc[key]['max']
    assert doc['compile_ms'] > 0
    assert doc['constrained_over_unconstrained_tps'] > 0 and doc['onnx_over_torch_tps'] > 0


def test_when_runtime_bench_runs_expect_documented_keys(tmp_path):
    doc = _bench('runtime', tmp_path)
    assert set(doc['stop_latency_ms']) >= {'p50', 'p99'}
    assert set(doc['request_to_plan_ms']) >= {'p50', 'p95'}
    assert set(doc['dispatch_overhead_ms']) >= {'p50', 'p99'}
    assert doc['stop_latency_ms']['n'] >= 1 and doc['dispatch_overhead_ms']['n'] >= 1


def test_when_stale_bench_runs_expect_documented_keys(tmp_path):
    doc = _bench('stale', tmp_path)
    assert doc['false_stops'] >= 0 and doc['idle_under_load_s'] > 0
    assert doc['stale_to_stop_ms']['n'] >= 1, doc


def test_when_http_bench_runs_expect_every_request_answered(tmp_path):
    doc = _bench('http', tmp_path)
    assert doc['requests'] == 400 and doc['lost'] == 0, doc
    assert sum(doc['by_status'].values()) == 400 and {'p50', 'p99'} <= set(doc['latency_ms'])


def test_when_doors_bench_runs_expect_a_latency_per_door(tmp_path):
    doc = _bench('doors', tmp_path)
    lat = doc['latency_ms']
    for door in ('http_dry_run', 'api_call', 'console_state'):
        assert lat[door]['n'] >= 1 and 0 < lat[door]['p50'] <= lat[door]['p99']
    assert lat['chat_reply'] is None or lat['chat_reply']['p50'] > 0
