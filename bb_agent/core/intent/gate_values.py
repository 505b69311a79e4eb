"""The gate's value checks: explicit values, modifiers, enum words, speeds and said text.

A mixin of :class:`bb_agent.core.intent.conformance.Gate`: every method reads the parsed
request (``self.intent``), the plan's steps and the clause scopes, and adds mismatches.
"""

from __future__ import annotations

from bb_agent.core.check.plan_graph import PlanNode
from bb_agent.core.dsl import program as p
from bb_agent.core.dsl.units import UNITS
from bb_agent.core.intent.lexicon import tokens
from bb_agent.core.intent.plan_facts import describe, plain, value_of, written_si

TOLERANCE = 0.01  # relative: "0.2 m/s" and 0.2 m/s are the same value


class ValueChecks:
    """Checks 4 and 6 of the gate (see :mod:`bb_agent.core.intent.conformance`)."""

    def values(self) -> None:
        """Flag an explicit value that no step of the clause that asked for it carries."""
        for amount, clause in self.intent.amounts:
            steps = self.scope(clause) or self.steps
            if amount.dimension == 'count':
                copies: dict[str, int] = {}
                for n in self.steps:
                    copies[n.step_id] = copies.get(n.step_id, 0) + 1
                per_skill: dict[str, int] = {}
                for n in steps:
                    per_skill[n.skill] = per_skill.get(n.skill, 0) + 1
                if not any(abs(copies[n.step_id] - amount.value) < 1e-9 for n in steps) and \
                        amount.value not in per_skill.values():
                    self.add('VALUE', f'you asked for {amount.text}, but my plan does it '
                             f'{max(per_skill.values(), default=0)} time(s)')
                continue
            carried = False
            for n in steps:
                for name, spec in self.schema.skills[n.skill].args.items():
                    if not spec.unit or UNITS[spec.unit][0] != amount.dimension:
                        continue
                    have = written_si(n, name, self.schema)
                    if have is not None and abs(have - amount.value) <= TOLERANCE * max(
                            abs(amount.value), 1e-6):
                        carried = True
                pose = next((v for _, v in n.args if isinstance(v, p.Pose)), None)
                if pose is not None and amount.dimension == 'length':
                    for _, q in pose.coords:
                        v = q.value * (UNITS[q.unit][1] if q.unit in UNITS else 1.0)
                        carried |= abs(abs(v) - amount.value) <= TOLERANCE * amount.value
            if not carried:
                self.add('VALUE', f'you asked for {amount.text}, but my plan does not use '
                         'that value')

    def modifiers(self) -> None:
        """Flag it unless: every modifier holds on the steps of its clause."""
        for name, clause in self.intent.modifiers:
            mod = self.lex.modifiers[name]
            scoped = self.scope(clause)
            others = {n.id for c in range(self.intent.clauses) if c != clause
                      for n in self.scope(c)}
            steps = [n for n in (scoped or self.steps)
                     if mod.arg in self.schema.skills[n.skill].args]
            if not steps:
                continue  # nothing it could apply to (e.g. "slowly" on a scan)
            # Every step only this clause asks for must obey; a step that another clause asks
            # for too ("go to bin B, then go to bin B quickly") needs one of them to.
            bad = [n for n in steps if not self._obeys(n, mod)]
            own = [n for n in bad if n.id not in others]
            if own or len(bad) == len(steps):
                n = (own or bad)[0]
                v = value_of(n, mod.arg, self.schema, self.world)
                unit = self.schema.skills[n.skill].args[mod.arg].unit or ''
                self.add('MODIFIER', f'you asked me to do it {name}, but my plan would '
                         f'{describe(n, self.schema)} with {mod.arg} {v:g} {unit}'.rstrip(), n.id)

    def _obeys(self, node: PlanNode, mod) -> bool:
        v = value_of(node, mod.arg, self.schema, self.world)
        return v is None or not ((mod.max is not None and v > mod.max + 1e-9) or
                                 (mod.min is not None and v < mod.min - 1e-9))

    def enums(self) -> None:
        """Flag it unless: a step's enum value is not another one the request named."""
        words = set(self.intent.words)
        self._enums_by_clause()
        for n in self.steps:
            for name, value in n.args:
                spec = self.schema.skills[n.skill].args.get(name)
                if spec is None or spec.type != 'enum' or not isinstance(value, p.Symbol):
                    continue
                said = {v for v in spec.values if v in words or
                        set(self.lex.enum_words.get(v, ())) & words}
                if said and value.name not in said:
                    self.add('VALUE', f'you said {" or ".join(sorted(said))}, but my plan '
                             f'would {describe(n, self.schema)} with {name} {value.name}', n.id)

    def _enums_by_clause(self) -> None:
        """Each clause that names an enum member ("the bins") has a step that uses it."""
        for clause in range(self.intent.clauses):
            words = {w for w, c in zip(self.intent.words, self.intent.word_clauses,
                                       strict=False) if c == clause}
            steps = self.scope(clause)
            for arg_name in {a for n in steps for a, _ in n.args}:
                values = [v for n in steps for a, v in n.args if a == arg_name and
                          isinstance(v, p.Symbol)]
                spec = next((self.schema.skills[n.skill].args[arg_name] for n in steps
                             if arg_name in self.schema.skills[n.skill].args), None)
                if spec is None or spec.type != 'enum':
                    continue
                said = {v for v in spec.values if v in words or
                        set(self.lex.enum_words.get(v, ())) & words}
                if said and not any(v.name in said for v in values):
                    self.add('VALUE', f'you said {" or ".join(sorted(said))}, but my plan '
                             f'uses {arg_name} {" and ".join(sorted({v.name for v in values}))}')

    def unasked(self) -> None:
        """Flag a written value in a modifier's class (fast, slow, gentle) nobody asked for.

        Near a person the slow class is the checker's own rule (the near-human limit), not
        a manner anyone has to ask for.
        """
        slow_ok = bool(self.world.humans()) and self.schema.safety is not None
        for name, mod in self.lex.modifiers.items():
            asked = {c for n, c in self.intent.modifiers if n == name} | {
                c for a, c in self.intent.amounts if self._in_class(a.value, mod) and
                a.dimension == UNITS[self._unit(mod.arg)][0]}
            allowed = {n.id for c in asked for n in (self.scope(c) or self.steps)}
            for n in self.steps:
                if mod.arg not in self.schema.skills[n.skill].args or n.id in allowed:
                    continue
                v = written_si(n, mod.arg, self.schema)
                if v is None or not self._in_class(v, mod):
                    continue
                if slow_ok and mod.arg == 'speed' and mod.max is not None and \
                        v <= self.schema.safety.max_speed_near_human_mps + 1e-9:
                    continue
                self.add('MODIFIER', f'my plan would {describe(n, self.schema)} with '
                         f'{mod.arg} {v:g} {self._unit(mod.arg)} ({name}), which you did not '
                         'ask for', n.id)

    @staticmethod
    def _in_class(value: float, mod) -> bool:
        return (mod.max is not None and value <= mod.max + 1e-9) or \
            (mod.min is not None and value >= mod.min - 1e-9)

    def _unit(self, arg: str) -> str:
        return next(a.unit for s in self.schema.skills.values() for n, a in s.args.items()
                    if n == arg and a.unit)

    def say(self) -> None:
        """Flag it unless: every quoted text is said, and nothing unworded is."""
        quoted = {plain(q) for q in self.intent.quoted}
        said = {plain(n.arg('text')) for n in self.steps
                if n.skill == 'say' and isinstance(n.arg('text'), str)}
        if 'say' in self.named:
            for q in self.intent.quoted:
                if plain(q) and plain(q) not in said:
                    self.add('MISSING', f'you asked me to say "{q[:60]}", but my plan does '
                             'not')
        words = set(tokens(self.intent.text))
        for n in self.steps:
            text = n.arg('text')
            if n.skill == 'say' and isinstance(text, str):
                if plain(text) in quoted or set(tokens(text)) <= words:
                    continue
                self.add('SAY', f'my plan would say "{text[:60]}", which you did not ask for',
                         n.id)
