"""Parser and canonical printer of the robot DSL."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import pytest

from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.parser import (
    DslSyntaxError,
    ProgramTooLargeError,
    UnexpectedCharacterError,
    UnexpectedEndError,
    UnexpectedTokenError,
    parse_program,
)
from bb_agent.core.dsl.printer import format_number, print_program
from tests.core.strategies import PROGRAMS

EXAMPLE = """# put the cup away
s1 = pick(object=red_cup, speed=0.2 m/s) @timeout(8 s) @retries(2);
s2 = place(object=red_cup, target=bin_a) after s1;
if holding(red_cup) && !(scanned || gripper_empty) { s3 = release(object=red_cup); }
else { s4 = home(); }
parallel { s5 = say(text="done \\"ok\\"") @optional;
  s6 = move_to(target={x=0.3, y=-5 cm, z=0.4, yaw=90 deg}); }
repeat 2 { s7 = scan(region=all, ref=$s1.pose, flag=false); }
"""


def test_when_example_parsed_expect_typed_ast():
    prog = parse_program(EXAMPLE)
    s1, s2, branch, par, rep = prog.body
    assert s1 == p.Step('s1', p.Call('pick', (('object', p.Symbol('red_cup')),
                                               ('speed', p.Quantity(0.2, 'm/s')))),
                        p.Quantity(8, 's'), 2, False, ())
    assert (s1.line, s1.column) == (2, 1)
    assert s2.after == ('s1',)
    assert branch.cond == p.All((p.Predicate('holding', (p.Symbol('red_cup'),)),
                                 p.Not(p.Any((p.Predicate('scanned'),
                                              p.Predicate('gripper_empty'))))))
    assert [s.id for s in branch.orelse] == ['s4']
    assert par.body[0].optional and par.body[0].call.arg('text') == 'done "ok"'
    assert par.body[1].call.arg('target').get('y') == p.Quantity(-5, 'cm')
    assert rep.count == 2 and rep.body[0].call.arg('ref') == p.Ref('s1', 'pose')
    assert rep.body[0].call.arg('flag') is False


@pytest.mark.parametrize('text,error,line,column,expects', [
    ('s1 = pick(', UnexpectedEndError, 1, 11, "')'"),
    ('s1 = pick()', UnexpectedEndError, 1, 12, "';'"),
    ('', UnexpectedEndError, 1, 1, 'STEP_ID'),
    ('s1 = pick() s2 = home();', UnexpectedTokenError, 1, 13, "'after'"),
    ('if = pick();', UnexpectedTokenError, 1, 4, 'NAME'),
    ('s1 = pick(a=1.);', UnexpectedCharacterError, 1, 14, None),
    ('s1 = pick(a="x\ny");', UnexpectedCharacterError, 1, 13, None),
    ('\n\n  §', UnexpectedCharacterError, 3, 3, "'if'"),
    ('repeat -1 { s1 = f(); }', UnexpectedTokenError, 1, 8, 'INT'),
    ('s1 = pick(a=1 km);', UnexpectedTokenError, 1, 15, 'UNIT'),
    ('{' * 3, UnexpectedTokenError, 1, 1, "'parallel'"),
])
def test_when_text_malformed_expect_labelled_error_with_position(text, error, line, column,
                                                                  expects):
    with pytest.raises(error) as info:
        parse_program(text)
    assert (info.value.line, info.value.column) == (line, column)
    assert info.value.label.startswith('E_PARSE_')
    if expects:
        assert expects in info.value.expected
    assert str(line) in info.value.message


@pytest.mark.parametrize('text', ['s1 = f();' * 20_000, 'x' * 200_000])
def test_when_input_oversized_expect_too_large_error(text):
    with pytest.raises(ProgramTooLargeError):
        parse_program(text)


@pytest.mark.parametrize('text', [
    'if a { ' * 3000 + 's1 = f();' + ' }' * 3000,
    'repeat 1 { ' * 65 + 's1 = f();' + ' }' * 65,
    'if ' + '!' * 5000 + 'a { s1 = f(); }',
], ids=['if', 'repeat', 'not'])
def test_when_nesting_very_deep_expect_too_large_error_not_crash(text):
    with pytest.raises(ProgramTooLargeError):
        parse_program(text)


def test_when_nesting_at_the_limit_expect_program():
    assert parse_program('repeat 1 { ' * 63 + 's1 = f();' + ' }' * 63)
    # Redundant parentheses add no nesting to the program.
    assert parse_program('if ' + '(' * 2000 + 'a' + ')' * 2000 + ' { s1 = f(); }')


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_when_arbitrary_text_parsed_expect_program_or_labelled_error(text):
    try:
        assert isinstance(parse_program(text), p.Program)
    except DslSyntaxError as exc:
        assert exc.label.startswith('E_PARSE_') and exc.message


@given(st.text(alphabet='s1=pick(a,b)@timeout;{}ifelse!&|$.0123456789 "\\\n#', max_size=80))
@settings(max_examples=300, deadline=None)
def test_when_near_miss_text_parsed_expect_program_or_labelled_error(text):
    try:
        parse_program(text)
    except DslSyntaxError as exc:
        assert exc.label.startswith('E_PARSE_')


@given(PROGRAMS)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_when_program_printed_and_parsed_expect_same_program(prog):
    text = print_program(prog)
    again = parse_program(text)
    assert again == prog
    assert print_program(again) == text


@pytest.mark.parametrize('value,text', [(3.0, '3'), (-0.5, '-0.5'), (1e-05, '0.00001'),
                                        (999999999.0, '999999999'), (0.1, '0.1')])
def test_when_number_printed_expect_grammar_text_that_round_trips(value, text):
    assert format_number(value) == text
    assert float(text) == value


@pytest.mark.parametrize('value', [1e9, -1e20, 1e-12, 0.1234567891, float('nan'), float('inf')])
def test_when_number_not_writable_in_dsl_expect_value_error(value):
    with pytest.raises(ValueError):
        format_number(value)
