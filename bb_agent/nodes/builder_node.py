"""builder_node: serves ``propose`` (bb_msgs/ProposePlan) with the builder model.

Loads the shipped default checkpoint unless ``model_path`` is set; warms the model up on
activation. The fallback chain, deferral thresholds and circuit breaker are
:class:`~bb_agent.domains.proposer.Proposer`'s. Robot requests are conditioned on the live
``world_state`` (the same one-line summary the model was trained on). Every plan meets the
intent gate (:mod:`bb_agent.core.intent.conformance`) on the live world and the session's
history (from the agent's ``context_json``), and the confidence the deferral threshold
reads is calibrated (the checkpoint's ``calibration.json``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid

from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import State, TransitionCallbackReturn

from bb_agent.core.check.check_service import CheckService
from bb_agent.core.check.violations import well_formed
from bb_agent.core.intent.calibration import Calibration, load_calibration
from bb_agent.core.intent.conformance import conform_program
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.prompting import world_context, world_symbols
from bb_agent.domains.proposer import Proposer
from bb_agent.domains.robot.grounding import grounding_question
from bb_agent.nodes.latest import LiveWorld
from bb_agent.nodes.lifecycle import Offload, autostart, clean_exit, ros_init, run_node
from bb_agent.nodes.logs import log_json
from bb_agent.nodes.model_slot import ModelSlot
from bb_agent.nodes.params import Param, declare
from bb_agent.safety.watch import SIGNALS, LiveWatch
from bb_msgs.msg import PlanGraph, WorldState
from bb_msgs.srv import ProposePlan

PARAMS = (
    Param('model_path', '', 'checkpoint folder ("" = the shipped default model)'),
    Param('escalate_model_path', '', 'a second, larger checkpoint (e.g. the pretrained '
          "SmolLM2 tier) tried when the first tier's plan fails the pre-check or the "
          'intent gate or is below the deferral threshold ("" = no escalation)'),
    Param('backend', 'torch', 'torch or onnx (needs `bb-agent export --onnx` first)'),
    Param('threads', 1, 'torch intra-op threads for decoding', 1, 64),
    Param('timeout_s', 30.0, 'generation wall-clock limit (s)', 0.05, 300.0),
    Param('max_tokens', 256, 'tokens per plan', 8, 4096),
    Param('defer_robot', 0.9, 'robot deferral threshold (confidence)', 0.0, 1.0),
    Param('defer_api_json', 0.8, 'api deferral threshold (confidence)', 0.0, 1.0),
    Param('defer_phone', 0.7, 'phone deferral threshold (confidence)', 0.0, 1.0),
    Param('defer_social', 0.6, 'chat deferral threshold (confidence)', 0.0, 1.0),
    Param('breaker_violations', 5, 'consecutive violations that switch to templates', 1, 1000),
    Param('breaker_cooldown_s', 60.0, 'template-mode cooldown (s)', 0.0, 3600.0),
    Param('world_max_age_s', 2.0, 'robot requests need a world state younger than this (s)',
          0.05, 60.0),
    Param('fault_stall_s', 0.0, 'fault injection: the model host stalls this long before '
          'each decode step (s); the stall counts against timeout_s', 0.0, 60.0),
    Param('registry_dir', '', 'model registry: every model ever active, for rollback '
          '("" = $XDG_DATA_HOME/bb_agent/models)'),
    Param('gate_config', '', 'the promotion gate\'s config ("" = the shipped config/gate.yaml)'),
    Param('watch_window', 20, 'proposals watched after a promotion for a live regression',
          2, 10000),
    Param('watch_min', 8, 'proposals before a live regression may roll back', 1, 10000),
    Param('watch_rise', 0.25, 'rise of a live signal rate (checker rejection, gate mismatch, '
          'deferral) over the previous model that rolls back', 0.0, 1.0),
    Param('fault_promoted_mismatch', False, 'fault injection: every plan of a promoted model '
          'fails the intent gate live (it passed the gate offline); tests auto-rollback',
          live=True),
    Param('autostart', True, 'configure and activate on start'),
)
Resp = ProposePlan.Response
CODE_TO_OUTCOME = {ErrorCode.UNKNOWN_DOMAIN: Resp.OUTCOME_INVALID_INPUT,
                   ErrorCode.EMPTY_INPUT: Resp.OUTCOME_INVALID_INPUT}


class BuilderNode(LifecycleNode):
    """See the module docstring."""

    def __init__(self) -> None:
        super().__init__('builder')
        self.p = declare(self, PARAMS, on_change=self._live)
        self.live = LiveWorld()
        self.planner = None
        self.escalation = None  # the second tier's planner (escalate_model_path)
        self.active = threading.Event()
        self.checker = CheckService(b'\0' * 32)  # pre-check only; it mints no real tokens
        self.proposer: Proposer | None = None
        self.calibration = Calibration()
        self.history: list[str] = []  # the request being decoded: its session's history
        self.create_subscription(WorldState, 'world_state', self.live.put, 10)
        self.offload = Offload(self)
        self.decoding = threading.Lock()  # one decode at a time: the model is not reentrant
        self.create_service(ProposePlan, 'propose', self._propose,
                            callback_group=self.offload.group)
        watch = LiveWatch(self.p['watch_window'], self.p['watch_min'],
                          dict.fromkeys(SIGNALS, self.p['watch_rise']))
        self.slot = ModelSlot(self, self._load, self._swap, self.offload,
                              registry_dir=self.p['registry_dir'],
                              gate_config=self.p['gate_config'], watch=watch)
        self.promoted = False  # the model in force came through the gate (fault switch)

    def on_configure(self, state: State) -> TransitionCallbackReturn:
        """Load the checkpoint (typed failure: the node reports it and stays unconfigured)."""
        import torch

        from bb_agent.model.checkpoint import load_checkpoint
        from bb_agent.model.planner import Planner
        torch.set_num_threads(self.p['threads'])
        try:
            configured = load_checkpoint(self.p['model_path'] or None).folder
            self.planner, self.calibration = self._load(self.slot.start(configured),
                                                        warm=False)
            self.promoted = len(self.slot.registry.stack) > 1
        except BBError as exc:
            self.get_logger().error(f'model unavailable: {exc.message}; templates only')
            self.planner = None
        self.escalation, escalation_calibration = None, None
        if self.p['escalate_model_path'] and self.planner is not None:
            try:
                tier = load_checkpoint(self.p['escalate_model_path'])
                self.escalation = Planner(tier, backend=self.p['backend'], device='cpu')
                escalation_calibration = load_calibration(tier.folder)
            except BBError as exc:
                self.get_logger().error(f'escalation tier unavailable: {exc.message}')
        self.escalation_calibration = escalation_calibration
        self.proposer = self._proposer()
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        """Warm the model up (first decode pays the allocations), then serve."""
        if self.planner is not None:
            _warm(self.planner, self.get_logger())
            self.slot.announce()
        self.active.set()
        return TransitionCallbackReturn.SUCCESS

    def _load(self, folder, *, warm: bool = True):
        """Return (planner, calibration) of the checkpoint in ``folder``, warmed up."""
        from bb_agent.model.checkpoint import load_checkpoint
        from bb_agent.model.planner import Planner
        ckpt = load_checkpoint(folder)
        planner = Planner(ckpt, backend=self.p['backend'], device='cpu')
        if warm:
            _warm(planner, self.get_logger())
        return planner, load_calibration(ckpt.folder)

    def _swap(self, served) -> None:
        """Put a loaded model in force between two requests (under the decode lock)."""
        with self.decoding:
            self.planner, self.calibration = served
            self.proposer = self._proposer()
            self.promoted = len(self.slot.registry.stack) > 1

    def _proposer(self) -> Proposer:
        thresholds = {d: self.p[f'defer_{d}'] for d in ('robot', 'api_json', 'phone', 'social')}
        return Proposer(self._generate if self.planner else None, self._precheck,
                        thresholds=thresholds,
                        breaker_violations=self.p['breaker_violations'],
                        breaker_cooldown_s=self.p['breaker_cooldown_s'],
                        ground=self._ground, conform=self._conform,
                        calibrate=self.calibration,
                        escalate=self._escalate if self.escalation else None,
                        escalate_calibrate=self.escalation_calibration)

    def _live(self, changes: dict) -> str:
        self.p = {**self.p, **changes}  # one assignment: a decode reads old or new, never half
        return ''

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        """Stop serving."""
        self.active.clear()
        return TransitionCallbackReturn.SUCCESS

    def _generate(self, domain: str, request: str, context: str, planner=None):
        from bb_agent.model.decoding import DecodeConfig
        cfg = DecodeConfig(greedy=True, max_tokens=self.p['max_tokens'],
                           timeout_s=self.p['timeout_s'])
        world = self.live.get()
        symbols = None
        if domain == 'robot' and world is not None:  # only ids that exist, only declared enums
            symbols = world_symbols(world, self.checker.schema('robot').enum_values())
        stall = self._stall if self.p['fault_stall_s'] > 0 else None
        result = (planner or self.planner).plan(request, context, cfg, symbols=symbols,
                                                cancel=stall)
        return result.outcome.value, result.text, result.confidence

    def _escalate(self, domain: str, request: str, context: str):
        return self._generate(domain, request, context, planner=self.escalation)

    def _stall(self) -> bool:
        # Fault injection, called before each decode step (the decoder's cancel hook, which
        # runs ahead of its deadline check): a slow model host, deterministic on any CPU.
        time.sleep(self.p['fault_stall_s'])
        return False  # never a cancel

    def _ground(self, domain: str, request: str) -> str | None:
        world = self.live.get()
        return grounding_question(request, world) if domain == 'robot' and world else None

    def _conform(self, domain: str, request: str, program: str, context: str):
        if self.promoted and self.p['fault_promoted_mismatch']:
            return False, 'Did you mean this plan?', 'fault injection: a live-bad model'
        if domain != 'robot':
            return True, '', ''
        verdict = conform_program(request, program, self.live.get(),
                                  self.checker.schema(domain), self.history)
        return verdict.ok, verdict.question, '; '.join(m.message for m in verdict.mismatches)

    def _precheck(self, domain: str, program: str) -> bool:
        world = self.live.get() if domain == 'robot' else None
        try:
            verdict = self.checker.check(program, domain, world).verdict
        except BBError:
            return False
        return well_formed(verdict.approved, verdict.violations)

    async def _propose(self, request, response):
        # Off the executor: world states keep arriving while the model decodes.
        return await self.offload(self._propose_now, request, response)

    def _propose_now(self, request, response):
        cid = request.correlation_id or str(uuid.uuid4())
        if not self.active.is_set() or self.proposer is None:
            response.outcome, response.error_code = Resp.OUTCOME_UNAVAILABLE, 500
            response.error_msg = 'builder is not active'
            return response
        world = self.live.get()
        if request.domain == 'robot' and self.live.fresh_world(self.p['world_max_age_s']) is None:
            # Without the robot's state there is nothing to ground a request in: say so,
            # rather than asking the requester about objects nobody can see.
            response.outcome, response.error_code = Resp.OUTCOME_UNAVAILABLE, 401
            response.error_msg = (f'no world state from the robot in the last '
                                  f'{self.p["world_max_age_s"]:g} s (is the robot or the sim '
                                  'running?); nothing is planned without one')
            return response
        context = world_context(world) if request.domain == 'robot' and world else ''
        start = time.monotonic()
        with self.decoding:
            self.history = _history(request.context_json)
            prop = self.proposer.propose(request.domain, request.goal, context)
        self.slot.record(prop, cid)  # outside the lock: an auto-rollback swaps under it
        response.confidence, response.source = float(prop.confidence), int(prop.source)
        response.deferred, response.clarification_question = prop.deferred, prop.question
        response.error_code, response.error_msg = int(prop.error_code), prop.message
        if not prop.ok:
            response.outcome = CODE_TO_OUTCOME.get(prop.error_code, Resp.OUTCOME_FAILED)
        elif prop.deferred:
            response.outcome = Resp.OUTCOME_DEFERRED
            if prop.error_code == ErrorCode.INTENT_MISMATCH and prop.candidate:
                # the plan the gate's question is about: the agent runs it on a "yes"
                response.plan = PlanGraph(plan_id=str(uuid.uuid4()), domain=request.domain,
                                          program=prop.candidate,
                                          schema_hash=self.checker.schema(request.domain).sha256)
        else:
            response.outcome = Resp.OUTCOME_SUCCEEDED
            schema = self.checker.schema(request.domain)
            response.plan = PlanGraph(plan_id=str(uuid.uuid4()), domain=request.domain,
                                      program=prop.program, schema_hash=schema.sha256)
        log_json(self, 'propose', correlation_id=cid, domain=request.domain,
                 source=prop.source.name, deferred=prop.deferred,
                 confidence=round(prop.confidence, 3), ms=round(1e3 * (time.monotonic() -
                                                                       start), 1),
                 raw_confidence=round(prop.raw_confidence, 3), note=prop.message)
        return response


def _warm(planner, logger) -> None:
    start = time.monotonic()
    planner.plan('go home', 'objects: ; bins: ; human: none')
    logger.info(f'model warm in {time.monotonic() - start:.2f} s')


def _history(context_json: str) -> list[str]:
    """Return the session history the agent sent (``{"history": [...]}``), or none."""
    try:
        history = json.loads(context_json or '{}').get('history', [])
    except (ValueError, AttributeError):
        return []
    return [h for h in history if isinstance(h, str)][-20:] if isinstance(history, list) else []


@clean_exit
def main(args=None) -> int:
    """Entry point of ``builder_node``."""
    ros_init(args)
    node = BuilderNode()
    autostart(node)
    return run_node(node)
