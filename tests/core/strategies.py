"""Hypothesis strategies for robot DSL programs in the parser's image (canonical shapes)."""

from hypothesis import strategies as st

from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.units import UNITS

NAMES = st.from_regex(r'[a-zA-Z_][a-zA-Z0-9_]{0,8}', fullmatch=True)
SYMBOLS = NAMES.filter(lambda n: n not in ('true', 'false'))
STEP_IDS = st.integers(1, 40).map(lambda i: f's{i}')
# Numbers the grammar can write: up to 9 integer and 9 fraction digits.
NUMBERS = st.builds(lambda m, k: m / 10 ** k, st.integers(-10**9 + 1, 10**9 - 1),
                    st.integers(0, 9)).filter(lambda x: abs(x) < 1e9)
QUANTITIES = st.builds(p.Quantity, NUMBERS, st.sampled_from([None, *UNITS]))
# Any text the grammar's STRING can carry once escaped (no raw carriage return).
TEXTS = st.text(st.characters(blacklist_categories=('Cs',), blacklist_characters='\r'),
                max_size=12)
REFS = st.builds(p.Ref, STEP_IDS, st.one_of(st.none(), NAMES))
POSES = st.lists(st.tuples(st.sampled_from(['x', 'y', 'z', 'roll', 'pitch', 'yaw']),
                           QUANTITIES), min_size=1, max_size=4).map(lambda c: p.Pose(tuple(c)))
VALUES = st.one_of(QUANTITIES, TEXTS, st.booleans(), SYMBOLS.map(p.Symbol), REFS, POSES)
PREDICATES = st.builds(p.Predicate, NAMES, st.lists(
    st.one_of(NAMES.map(p.Symbol), REFS, TEXTS), max_size=2).map(tuple))


def _conds(leaf):
    # n-ary nodes never nest their own kind directly: that is how the parser builds them.
    def extend(inner):
        return st.one_of(
            inner.map(p.Not),
            st.lists(inner.filter(lambda c: not isinstance(c, p.All)), min_size=2,
                     max_size=3).map(lambda cs: p.All(tuple(cs))),
            st.lists(inner.filter(lambda c: not isinstance(c, p.Any)), min_size=2,
                     max_size=3).map(lambda cs: p.Any(tuple(cs))))
    return st.recursive(leaf, extend, max_leaves=5)


CONDS = _conds(PREDICATES)
CALLS = st.builds(p.Call, NAMES, st.lists(st.tuples(NAMES, VALUES), max_size=3).map(tuple))
STEPS = st.builds(p.Step, STEP_IDS, CALLS, st.one_of(st.none(), QUANTITIES),
                  st.one_of(st.none(), st.integers(0, 9)), st.booleans(),
                  st.lists(STEP_IDS, max_size=2).map(tuple))


def _statements(inner):
    block = st.lists(inner, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        block.map(p.Parallel),
        st.builds(p.If, CONDS, block, st.one_of(st.just(()), block)),
        st.builds(p.Repeat, st.integers(0, 12), block))


STATEMENTS = st.recursive(STEPS, _statements, max_leaves=8)
PROGRAMS = st.lists(STATEMENTS, min_size=1, max_size=4).map(lambda b: p.Program(tuple(b)))
