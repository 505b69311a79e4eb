"""The SCAN-shaped benchmark set: the grammar's closure, its meaning, and a loadable folder."""

import lark
import pytest

from bb_agent.train.dataset import load_traces
from bench.scan_data import commands, write

MEANING = dict(commands())


@pytest.mark.parametrize('command,actions', [
    ('jump', 'I_JUMP'),
    ('turn left twice', 'I_TURN_LEFT I_TURN_LEFT'),
    ('walk opposite right', 'I_TURN_RIGHT I_TURN_RIGHT I_WALK'),
    ('look around left', 'I_TURN_LEFT I_LOOK ' * 3 + 'I_TURN_LEFT I_LOOK'),
    ('run thrice after turn right', 'I_TURN_RIGHT I_RUN I_RUN I_RUN'),
    ('jump left and walk twice', 'I_TURN_LEFT I_JUMP I_WALK I_WALK'),
])
def test_when_a_command_is_generated_expect_its_published_meaning(command, actions):
    assert ' '.join(MEANING[command]) == actions


def test_when_written_expect_every_command_once_split_80_20_and_parsable(tmp_path):
    sizes = write(tmp_path)
    assert len(MEANING) == 20_910 and sizes == {'test': 4182, 'val': 500, 'train': 16_228}
    traces = load_traces(tmp_path)
    seen = [t.input for split in traces.splits.values() for t in split]
    assert len(seen) == len(set(seen)) == 20_910
    parser = lark.Lark((tmp_path / 'actions.lark').read_text())
    for trace in traces.splits['val']:
        parser.parse(trace.output)  # raises on an output the action grammar refuses
