"""Flatten a :class:`~bb_agent.core.dsl.program.Program` into a plan graph.

Semantics (what the executor runs and the checker simulates):

- statements in a block run in sequence: each depends on the one before it;
- the statements of ``parallel { ... }`` all depend on what precedes the block and may run
  concurrently; what follows the block depends on all of them;
- ``if c { A } else { B }`` becomes a *branch* node (skill ``if``) evaluated once on live
  state; nodes of A carry the guard ``(branch, True)``, nodes of B ``(branch, False)``;
  a node whose guard is false is skipped, and skipped nodes count as finished;
- ``repeat N { ... }`` is unrolled N times in sequence; node ids get an iteration suffix
  (``s3[2]``), and a reference from outside resolves to the last iteration;
- ``after a, b`` and ``$a.field`` references add dependency edges.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
import functools
import heapq

from bb_agent.core.check.violations import Code, Violation
from bb_agent.core.dsl import program as p

Guard = tuple[tuple[str, bool], ...]  # (branch node id, required outcome), outermost first


@dataclass(frozen=True)
class PlanNode:
    """One node of the plan graph: a skill call or a branch decision."""

    id: str  # unique in the graph, e.g. "s3", "s3[2]", "if1"
    step_id: str  # id as written in the program ("s3"), or the branch id
    skill: str  # skill name; "if" for branch nodes
    args: tuple[tuple[str, p.Value], ...] = ()
    cond: p.Cond | None = None  # branch nodes only
    depends_on: tuple[str, ...] = ()
    guard: Guard = ()
    optional: bool = False
    timeout: p.Quantity | None = None
    retries: int | None = None
    line: int = 0

    @property
    def is_branch(self) -> bool:
        """True for the branch node of an ``if``."""
        return self.cond is not None

    def arg(self, name: str) -> p.Value | None:
        """Return the value of argument ``name``, or None."""
        return next((v for n, v in self.args if n == name), None)


@dataclass(frozen=True)
class PlanGraph:
    """A flattened plan: nodes in program order plus the problems found while flattening."""

    program: p.Program
    nodes: tuple[PlanNode, ...]
    issues: tuple[Violation, ...] = ()

    def node(self, node_id: str) -> PlanNode:
        """Return the node with ``node_id`` (KeyError when absent)."""
        return self.index[node_id]

    @functools.cached_property
    def index(self) -> dict[str, PlanNode]:
        """Return the nodes by id (computed once; the graph is immutable)."""
        return {n.id: n for n in self.nodes}


def format_guard(guard: Guard) -> str:
    """Print a guard as DSL-like text: ``if1 && !if2``; empty for unconditional nodes."""
    return ' && '.join(b if ok else f'!{b}' for b, ok in guard)


def count_nodes(body: tuple[p.Statement, ...]) -> int:
    """Return how many nodes ``body`` unrolls to (without building them)."""
    total = 0
    for stmt in body:
        if isinstance(stmt, p.Step):
            total += 1
        elif isinstance(stmt, p.If):
            total += 1 + count_nodes(stmt.then) + count_nodes(stmt.orelse)
        elif isinstance(stmt, p.Repeat):
            total += stmt.count * count_nodes(stmt.body)
        else:
            total += count_nodes(stmt.body)
    return total


def build_graph(prog: p.Program, *, max_nodes: int) -> PlanGraph:
    """Flatten ``prog``; plans over ``max_nodes`` nodes are reported, not unrolled."""
    size = count_nodes(prog.body)
    if size > max_nodes:
        return PlanGraph(prog, (), (Violation.of(
            Code.E_PLAN_TOO_LARGE, '', f'plan unrolls to {size} nodes; the limit is '
            f'{max_nodes}'),))
    return _Flattener(prog).run()


class _Flattener:
    def __init__(self, prog: p.Program) -> None:
        self.prog = prog
        self.nodes: list[PlanNode] = []
        self.issues: list[Violation] = []
        self.latest: dict[str, str] = {}  # step id -> most recent unrolled node id
        self.first: dict[str, str] = {}  # step id -> first unrolled node id (forward refs)
        self.copies: dict[str, int] = {}  # node id -> how many steps claimed it (duplicates)
        self.branches = 0
        written = Counter(s.id for s in p.iter_steps(prog.body))
        self.known = set(written)
        for sid in sorted(s for s, n in written.items() if n > 1):
            self.issues.append(Violation.of(Code.E_DUPLICATE_ID, sid,
                                            f'step id {sid} is used more than once'))
        self.pending: list[tuple[int, tuple[str, ...]]] = []  # node index, forward refs

    def run(self) -> PlanGraph:
        self._block(self.prog.body, frozenset(), (), '')
        # Forward references resolve once every id is known (they usually form a cycle).
        for index, refs in self.pending:
            node = self.nodes[index]
            extra = tuple(self.first[r] for r in refs if r in self.first)
            self.nodes[index] = _with_deps(node, node.depends_on + extra)
        return PlanGraph(self.prog, tuple(self.nodes), tuple(self.issues))

    def _block(self, body, frontier: frozenset, guard: Guard, suffix: str) -> frozenset:
        for stmt in body:
            frontier = self._statement(stmt, frontier, guard, suffix)
        return frontier

    def _statement(self, stmt, frontier, guard, suffix) -> frozenset:
        if isinstance(stmt, p.Step):
            return frozenset({self._step(stmt, frontier, guard, suffix)})
        if isinstance(stmt, p.Parallel):
            out: frozenset = frozenset()
            for child in stmt.body:
                out |= self._statement(child, frontier, guard, suffix)
            return out
        if isinstance(stmt, p.If):
            self.branches += 1
            bid = f'if{self.branches}{suffix}'
            refs = _cond_refs(stmt.cond)
            deps = self._resolve(bid, refs, 'condition', len(self.nodes))
            self.nodes.append(PlanNode(bid, bid, 'if', cond=stmt.cond, guard=guard,
                                       depends_on=_ordered(frontier, deps), line=stmt.line))
            then = self._block(stmt.then, frozenset({bid}), guard + ((bid, True),), suffix)
            orelse = (self._block(stmt.orelse, frozenset({bid}), guard + ((bid, False),),
                                  suffix) if stmt.orelse else frozenset({bid}))
            return then | orelse
        for i in range(1, stmt.count + 1):
            frontier = self._block(stmt.body, frontier, guard, f'{suffix}[{i}]')
        return frontier

    def _step(self, step: p.Step, frontier, guard, suffix) -> str:
        nid = step.id + suffix
        if self.first.get(step.id) == nid:
            # A duplicated id (reported above) still gets its own node, so the rest of
            # the plan is checked instead of tripping over a self-loop.
            self.copies[nid] = self.copies.get(nid, 1) + 1
            nid = f'{nid}~{self.copies[nid]}'
        refs = tuple(v.step for _, v in step.call.args if isinstance(v, p.Ref))
        deps = self._resolve(nid, step.after, 'after', len(self.nodes),
                             unknown=Code.E_UNKNOWN_REF)
        deps += self._resolve(nid, refs, 'reference', len(self.nodes))
        self.nodes.append(PlanNode(
            nid, step.id, step.call.skill, step.call.args, None, _ordered(frontier, deps),
            guard, step.optional, step.timeout, step.retries, step.line))
        self.latest[step.id] = nid
        self.first.setdefault(step.id, nid)
        return nid

    def _resolve(self, nid, refs, what, index, unknown=Code.E_BAD_REF) -> tuple[str, ...]:
        out, forward = [], []
        for ref in refs:
            if ref in self.latest:
                out.append(self.latest[ref])
            elif ref in self.known:
                if what == 'after':
                    forward.append(ref)
                else:
                    self.issues.append(Violation.of(
                        Code.E_BAD_REF, nid, f'{what} ${ref} points to a later step'))
            else:
                self.issues.append(Violation.of(unknown, nid, f'{what} {ref}: no such step'))
        if forward:
            self.pending.append((index, tuple(forward)))
        return tuple(out)


def _ordered(frontier: frozenset, deps: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*sorted(frontier), *deps]))


def _with_deps(node: PlanNode, deps: tuple[str, ...]) -> PlanNode:
    return replace(node, depends_on=tuple(dict.fromkeys(deps)))


def _cond_refs(cond: p.Cond) -> tuple[str, ...]:
    if isinstance(cond, p.Predicate):
        return tuple(a.step for a in cond.args if isinstance(a, p.Ref))
    if isinstance(cond, p.Not):
        return _cond_refs(cond.cond)
    return tuple(r for c in cond.conds for r in _cond_refs(c))


def topological_order(graph: PlanGraph) -> tuple[list[str], list[str]]:
    """Return (order, cyclic) for the plan graph.

    ``order`` is a topological order in which program order breaks ties; ``cyclic`` lists the
    ids left over because they sit on or behind a dependency cycle.
    """
    position = {n.id: i for i, n in enumerate(graph.nodes)}
    indegree = {n.id: 0 for n in graph.nodes}
    children: dict[str, list[str]] = {n.id: [] for n in graph.nodes}
    for n in graph.nodes:
        for d in n.depends_on:
            if d in indegree:
                indegree[n.id] += 1
                children[d].append(n.id)
    ready = [(position[i], i) for i, deg in indegree.items() if deg == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, nid = heapq.heappop(ready)
        order.append(nid)
        for child in children[nid]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, (position[child], child))
    done = set(order)
    return order, [n.id for n in graph.nodes if n.id not in done]
