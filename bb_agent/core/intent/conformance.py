"""The intent-conformance gate: an approved plan must do what was asked, and only that.

Runs between the checker's approval and execution, on the checked plan. A plan conforms
when:

1. every skill it runs is called for by the request's verbs (or needed by one: a place
   needs its pick; a substitute counts as its skill), and none the request negates;
2. every action the request names appears in it;
3. every object and bin it acts on is grounded in the request (id, kind, colour, synonym,
   side, "everything", or a reference that resolves in the session), and every object the
   request names unambiguously is acted on;
4. every explicit value (speed, force, distance, duration, count) is carried, on a step of
   the clause that asked for it, and every modifier (slowly, gently, quickly) holds on
   every step of its clause;
5. clauses asked in order ("then", "but first") run in that order;
6. a ``say`` says what the request quoted or worded.

Otherwise the verdict lists each mismatch and a question that names them, for the agent
to ask ("You asked me to pick up the red cup; my plan also puts the red cup in bin b.").
"""

from __future__ import annotations

from dataclasses import dataclass, field
import re

from bb_agent.core.check.plan_graph import PlanGraph, PlanNode
from bb_agent.core.dsl import program as p
from bb_agent.core.intent.gate_values import ValueChecks
from bb_agent.core.intent.grounding import Grounded, ground
from bb_agent.core.intent.plan_facts import ancestors, cond_ids, describe, expand, ids_of
from bb_agent.core.intent.request import CONDITIONS, Intent, parse_request
from bb_agent.core.schema import DomainSchema
from bb_agent.core.world import World


@dataclass(frozen=True)
class Mismatch:
    """One way the plan differs from the request."""

    code: str  # UNREQUESTED, NEGATED, MISSING, UNGROUNDED, UNUSED, VALUE, MODIFIER, ORDER, SAY
    message: str
    node_id: str = ''


@dataclass
class GateVerdict:
    """The gate's answer: ``ok``, or the mismatches and the question to ask."""

    ok: bool
    mismatches: list[Mismatch] = field(default_factory=list)
    question: str = ''

    def to_dict(self) -> dict:
        """JSON form (ledger, feedback)."""
        return {'ok': self.ok, 'mismatches': [m.__dict__ for m in self.mismatches],
                'question': self.question}


class _Gate(ValueChecks):
    def __init__(self, intent: Intent, graph: PlanGraph, world: World, schema: DomainSchema,
                 history: list[str]) -> None:
        self.intent, self.graph, self.world, self.schema = intent, graph, world, schema
        self.lex = schema.lexicon
        self.steps = [n for n in graph.nodes if not n.is_branch]
        self.grounded: Grounded = ground(intent, world, self.lex, history)
        self.named = set(intent.named_skills())
        if intent.correction and not [a for a in intent.actions if not a.implied]:
            for earlier in reversed(list(history)):  # "no, the blue one": the same actions
                before = parse_request(earlier, self.lex)
                if before.actions:
                    self.named |= before.named_skills()
                    self.required = [a for a in before.actions if not a.negated and
                                     not a.implied]
                    break
        self.called = expand(self.named, schema)
        self.negated = {s for a in intent.actions if a.negated for s in a.skills} - self.named
        self.out: list[Mismatch] = []
        self.ancestors = ancestors(graph)
        self._scopes: dict[int, list[PlanNode]] = {}

    def add(self, code: str, message: str, node_id: str = '') -> None:
        if all(m.message != message for m in self.out):
            self.out.append(Mismatch(code, message, node_id))

    def unsaid(self) -> None:
        """Flag a motion whose required choice (a direction) the request never made."""
        words = set(self.intent.words)
        for node in self.steps:
            spec = self.schema.skills.get(node.skill)
            if spec is None or not spec.moves:
                continue
            for name, arg in spec.args.items():
                if arg.type != 'enum' or not arg.required or not isinstance(
                        node.arg(name), p.Symbol):
                    continue
                if not any(v in words or set(self.lex.enum_words.get(v, ())) & words
                           for v in arg.values):
                    self.add('VALUE', f'you did not say which {name} '
                             f'({" or ".join(arg.values)}); my plan would '
                             f'{describe(node, self.schema)} {node.arg(name).name}', node.id)

    def skills(self) -> None:
        for node in self.steps:
            spec = self.schema.skills.get(node.skill)
            if self.intent.question and spec is not None and spec.moves:
                self.add('UNREQUESTED', f'you asked a question, but my plan would '
                         f'{describe(node, self.schema)}', node.id)
            elif node.skill in self.negated:
                self.add('NEGATED', f'you asked me not to {node.skill.replace("_", " ")}, but '
                         f'my plan would {describe(node, self.schema)}', node.id)
            elif node.skill not in self.called or not self._justified(node):
                self.add('UNREQUESTED', f'my plan also would {describe(node, self.schema)}, '
                         'which you did not ask for', node.id)
        required = getattr(self, 'required', None) or [
            a for a in self.intent.actions if not a.negated and not a.implied]
        present = {n.skill for n in self.steps}
        for action in required:
            own = set(action.skills) | {t for s in action.skills if s in self.schema.skills
                                        for t in self.schema.skills[s].substitutes}
            if not own & present:
                self.add('MISSING', f'you asked me to {action.phrase}, but my plan does not')

    def _justified(self, node: PlanNode) -> bool:
        """Return True when a step the request does not name (a pick) serves one it does."""
        own = {s for s in self.named} | {t for s in self.named if s in self.schema.skills
                                          for t in self.schema.skills[s].substitutes}
        if node.skill in own:
            return True
        users = {s for s in self.named if s in self.lex.skills and node.skill in
                 expand(set(self.lex.skills[s].needs), self.schema)}
        ids = set(ids_of(node, self.schema))
        after = [n for n in self.steps if node.id in self.ancestors[n.id]]
        return any(n.skill in users and (not ids or ids & set(ids_of(n, self.schema)))
                   for n in after)

    def repeats(self) -> None:
        """Flag a step written more often than the request names it ("put X in A" once)."""
        if any(a.dimension == 'count' for a, _ in self.intent.amounts) or \
                {'again', 'both', 'each', 'twice'} & set(self.intent.words):
            return
        copies: dict[str, list[PlanNode]] = {}
        for n in self.steps:  # a repeat block's copies share their written step id
            copies.setdefault(n.step_id, []).append(n)
        for nodes in copies.values():
            if len(nodes) > 1:
                self.add('UNREQUESTED', f'my plan would {describe(nodes[0], self.schema)} '
                         f'{len(nodes)} times; you did not ask for a repeat', nodes[0].id)
        needed = {s for a in self.intent.actions for s in a.skills
                  for s in (self.lex.skills[s].needs if s in self.lex.skills else ())}
        groups: dict[tuple, set[str]] = {}
        for n in self.steps:
            if n.skill in needed and n.skill not in self.named:
                continue  # a pick that each place brings along
            groups.setdefault((n.skill, n.args, n.guard), set()).add(n.step_id)
        for (skill, _, _), ids in groups.items():
            asked = sum(1 for a in self.intent.actions if skill in expand(a.skills, self.schema)
                        and not a.negated and not a.implied) or 1
            if len(ids) > asked:
                node = next(n for n in self.steps if n.step_id in ids)
                self.add('UNREQUESTED', f'my plan would {describe(node, self.schema)} '
                         f'{len(ids)} times; you asked for it {asked} time(s)', node.id)

    def objects(self) -> None:
        g = self.grounded
        used = set()
        for node in self.graph.nodes:
            ids = cond_ids(node.cond) if node.is_branch else ids_of(node, self.schema)
            used |= set(ids)
            for obj in ids:
                if obj in g.negated:
                    self.add('NEGATED', f'you asked me to leave the {obj.replace("_", " ")} '
                             f'alone, but my plan would {describe(node, self.schema)}', node.id)
                elif obj not in g.objects and self.world.object(obj) is not None:
                    which = next((ids_ for m, ids_ in g.ambiguous if obj in ids_), None)
                    if which:
                        self.add('UNGROUNDED', 'you did not say which one you mean: ' +
                                 ' or '.join(i.replace('_', ' ') for i in which))
                    else:
                        self.add('UNGROUNDED', f'my plan acts on the {obj.replace("_", " ")}, '
                                 'which you did not mention', node.id)
            pose = next((v for _, v in node.args if isinstance(v, p.Pose)), None)
            if pose is not None and not any(a.dimension == 'length' for a, _ in
                                            self.intent.amounts) and not \
                    {'x', 'y', 'z'} & set(self.intent.words):
                self.add('UNGROUNDED', f'my plan moves to a position you did not give '
                         f'({describe(node, self.schema)})', node.id)
        movers = {s for s, spec in self.schema.skills.items() if spec.moves and 'object' in
                  spec.args}
        said_all = [a for a in self.intent.actions if a.clause in self.intent.everything_in
                    and not a.negated and not a.implied and movers & a.skills]
        if said_all and not self.intent.question:
            objects = [o.id for o in self.world.objects if o.kind not in
                       ('bin', 'human', 'obstacle', 'table') and o.id not in g.negated]
            left = [o for o in objects if o not in used]
            if left and used:
                self.add('MISSING', 'you asked for everything, but my plan leaves the ' +
                         ', the '.join(o.replace('_', ' ') for o in left))
        if CONDITIONS & set(self.intent.words) and not any(
                n.is_branch for n in self.graph.nodes):
            self.add('MISSING', 'you asked me to do it only under a condition, but my plan '
                     'does not check one')
        conditions = {i for n in self.graph.nodes if n.is_branch for i in cond_ids(n.cond)}
        for mention, obj in g.named:
            if mention.in_condition and obj not in conditions:
                self.add('UNUSED', f'your condition is about the {obj.replace("_", " ")}, but '
                         "my plan's is not")
            elif obj not in used and not mention.in_condition:
                self.add('UNUSED', f'you mentioned the {obj.replace("_", " ")}, but my plan '
                         'does not act on it')

    def scope(self, clause: int) -> list[PlanNode]:
        """Return the steps answering a clause: its skills, on its objects if it names any."""
        if clause not in self._scopes:  # read by several checks, per clause
            self._scopes[clause] = self._scope(clause)
        return self._scopes[clause]

    def _scope(self, clause: int) -> list[PlanNode]:
        actions = [a for a in self.intent.actions if a.clause == clause and not a.negated
                   and not a.implied]
        if not actions:
            return []
        skills = expand({s for a in actions for s in a.skills}, self.schema)
        objects = set()
        for m in self.intent.mentions:
            if m.clause == clause and not m.negated:
                objects |= {i for mm, i in self.grounded.named if mm is m}
        steps = [n for n in self.steps if n.skill in skills]
        if objects:
            on = [n for n in steps if set(ids_of(n, self.schema)) & objects or
                  not ids_of(n, self.schema)]
            steps = on or steps
        return steps

    def order(self) -> None:
        before = self.ancestors
        for first, then in self.intent.order:
            a, b = self.scope(first), self.scope(then)
            if not a or not b or {n.id for n in a} == {n.id for n in b}:
                continue
            # some step of the earlier clause runs before some step of the later one
            if not any(x.id in before[y.id] for x in a for y in b if x.id != y.id):
                self.add('ORDER', f'you asked me to {describe(a[0], self.schema)} before I '
                         f'{describe(b[0], self.schema)}, but my plan does not keep that order')


def conform(request: str, graph: PlanGraph, world: World, schema: DomainSchema,
            history: list[str] = ()) -> GateVerdict:
    """Return the gate's verdict on ``graph`` (a checked plan) for ``request`` in ``world``.

    ``history`` is the session's earlier requests (oldest first): "it" and "no, the blue
    one" resolve there. A schema without a lexicon has nothing to judge by: the verdict
    is a mismatch (fail closed).
    """
    if schema.lexicon is None:
        return GateVerdict(False, [Mismatch('NO_LEXICON', f'domain {schema.domain} has no '
                                            'lexicon to judge intent by')],
                           'I cannot tell whether this plan is what you asked. Should I?')
    gate = _Gate(parse_request(request, schema.lexicon), graph, world, schema, list(history))
    for check in (gate.skills, gate.repeats, gate.objects, gate.unsaid, gate.values,
                  gate.modifiers, gate.order, gate.enums, gate.unasked, gate.say):
        check()
    if not gate.out:
        return GateVerdict(True)
    said = ' '.join(re.sub(r'\s+', ' ', request).split())[:120]
    reasons = '; '.join(m.message for m in gate.out[:4])
    return GateVerdict(False, gate.out, f'You asked: "{said}". {reasons[0].upper()}'
                       f'{reasons[1:]}. Should I do that, or could you say what you mean?')


def conform_program(request: str, program: str, world: World | None, schema: DomainSchema,
                    history: list[str] = ()) -> GateVerdict:
    """Parse ``program`` and judge it with :func:`conform`; fail closed on any problem."""
    from bb_agent.core.check.plan_graph import build_graph
    from bb_agent.core.dsl.parser import parse_program
    from bb_agent.core.outcomes import BBError
    if world is None:
        return GateVerdict(False, [Mismatch('NO_WORLD', 'no world state to ground the request '
                                            'in')], "I cannot see the robot's world right "
                                                    'now. Could you ask again in a moment?')
    try:
        graph = build_graph(parse_program(program), max_nodes=schema.max_nodes)
    except (BBError, ValueError) as exc:
        return GateVerdict(False, [Mismatch('UNPARSED', f'the plan does not parse: {exc}')],
                           'I could not read my own plan. Could you say it differently?')
    return conform(request, graph, world, schema, history)
