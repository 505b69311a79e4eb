"""The run ledger's hash chain: any edited, removed or reordered line is found and named."""

import json
from pathlib import Path
import subprocess
import sys

import pytest

from bb_agent.safety.ledger import GENESIS, Ledger, verify

BB_AGENT = str(Path(sys.executable).with_name('bb-agent'))


def write(path, n=5, **kw):
    ledger = Ledger(path, stamp={'schema_sha256': 'abc'}, **kw)
    for i in range(n):
        ledger.record('request', correlation_id=f'c{i}', text=f'put cup {i} in bin A',
                      tags=('a', 'b'), weird=object() if i == 2 else None)
    return ledger


def lines(path):
    return path.read_text().splitlines()


def test_when_records_are_written_expect_a_chain_that_verifies(tmp_path):
    path = tmp_path / 'ledger.jsonl'
    write(path)
    report = verify(path)
    assert report.ok and report.records == 5 and not report.bad
    first = json.loads(lines(path)[0])
    assert first['prev'] == GENESIS and first['seq'] == 0 and first['stamp'] == {
        'schema_sha256': 'abc'}
    assert report.last_hash == json.loads(lines(path)[-1])['hash']


def _edit(rows):
    r = json.loads(rows[2])
    r['text'] = 'put cup 2 in bin B'
    rows[2] = json.dumps(r, sort_keys=True)
    return rows


@pytest.mark.parametrize('tamper,line,why', [
    (_edit, 3, 'hash does not match'),                                   # edited
    (lambda rows: rows[:2] + rows[3:], 3, 'seq 3 where 2 was due'),      # removed
    (lambda rows: [rows[0], rows[2], rows[1], *rows[3:]], 2, 'seq 2 where 1'),  # reordered
    (lambda rows: rows[:4], None, None),                                 # the tail cut: see below
    (lambda rows: rows[:3] + ['{"torn": '] + rows[4:], 4, 'not JSON'),
    (lambda rows: [rows[0].replace('"seq": 0', '"seq": 0, "x": 1')] + rows[1:], 1,
     'hash does not match'),                                             # a field added
])
def test_when_a_line_is_tampered_expect_verify_to_name_the_first_bad_line(
        tmp_path, tamper, line, why):
    path = tmp_path / 'ledger.jsonl'
    write(path)
    rows = tamper(lines(path))
    path.write_text('\n'.join(rows) + '\n')
    report = verify(path)
    if line is None:  # cutting the tail leaves a valid, shorter chain: pin the last hash
        assert report.ok and report.records == 4
        return
    assert not report.ok and report.bad.startswith(f'{path}:{line}:') and why in report.bad


def test_when_the_file_rotates_expect_the_chain_to_span_the_files(tmp_path):
    path = tmp_path / 'ledger.jsonl'
    write(path, n=12, max_bytes=700)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) > 2 and 'ledger.jsonl.1' in files
    assert verify(path).ok and verify(path).records == 12
    Ledger(path, max_bytes=700).record('outcome', correlation_id='c12')  # reopened: goes on
    assert verify(path).records == 13
    (tmp_path / 'ledger.jsonl.1').unlink()  # a whole rotated file removed
    assert not verify(path).ok and 'ledger.jsonl.2:1' in verify(path).bad


def test_when_verified_from_the_cli_expect_exit_codes_and_the_bad_line(tmp_path):
    path = tmp_path / 'ledger.jsonl'
    write(path)
    ok = subprocess.run([BB_AGENT, 'ledger', 'verify', str(path)], capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0 and '5 records' in ok.stdout
    path.write_text('\n'.join(_edit(lines(path))) + '\n')
    bad = subprocess.run([BB_AGENT, 'ledger', 'verify', str(path)], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 1 and f'{path}:3' in bad.stdout + bad.stderr
