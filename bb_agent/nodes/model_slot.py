"""The builder's model slot: promotion through the gate, hot-swap, rollback, auto-rollback.

Serves, on the builder node:

- ``promote`` (bb_msgs/PromoteCheckpoint): runs the gate (:mod:`bb_agent.safety.promote`)
  on the candidate against the active model (``baseline_path`` only in a dry run); on
  PROMOTE (and not ``dry_run``) the candidate is copied into the registry, loaded and
  warmed up, and only then swapped in, between two requests: a request in flight finishes
  on the old model.
- ``rollback`` (std_srvs/Trigger): back to the model that was active before.

Publishes ``model/active`` (latched, JSON: id, folder, since) and ``model/events`` (JSON:
promote, hold, reject, rollback, auto_rollback with the metrics and the reason), which the
agent writes to the run ledger. After a promotion the live signals are watched
(:class:`~bb_agent.safety.watch.LiveWatch`); a regression rolls back by itself.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
import threading
import time

from std_msgs.msg import String
from std_srvs.srv import Trigger

from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.nodes.qos import LATCHED, RECENT
from bb_agent.safety.registry import ModelRegistry
from bb_agent.safety.watch import LiveWatch
from bb_msgs.action import HandleRequest
from bb_msgs.msg import Metric
from bb_msgs.srv import PromoteCheckpoint

P = PromoteCheckpoint.Response
STOPPED = HandleRequest.Result.OUTCOME_STOPPED  # the safety monitor stopped the plan


class ModelSlot:
    """See the module docstring.

    Args:
        node: the builder node.
        load: ``load(folder) -> served`` builds and warms a model up (raises BBError).
        swap: ``swap(served)`` puts it in force; called under the builder's decode lock.
        offload: the node's :class:`~bb_agent.nodes.lifecycle.Offload` (the gate is long).
    """

    def __init__(self, node, load, swap, offload, *, registry_dir: str, gate_config: str,
                 watch: LiveWatch) -> None:
        self.node, self.load, self.swap, self.offload = node, load, swap, offload
        self.registry = ModelRegistry(registry_dir or None)
        if self.registry.note:
            node.get_logger().warning(self.registry.note)
        self.gate_config = gate_config
        self.watch = watch
        self.busy = threading.Lock()  # one promotion or rollback at a time
        self.active_pub = node.create_publisher(String, 'model/active', LATCHED)
        # volatile: a late agent must not write old events to the ledger a second time
        self.events_pub = node.create_publisher(String, 'model/events', 10)
        node.create_service(PromoteCheckpoint, 'promote', self._promote,
                            callback_group=offload.group)
        node.create_service(Trigger, 'rollback', self._rollback, callback_group=offload.group)
        # the agent's outcomes: a STOP during a plan the model wrote (watch.motion_stop)
        node.create_subscription(String, 'ledger/events', self._outcome, RECENT)

    def start(self, configured: Path) -> Path:
        """Register the configured model; return the folder to serve (a promoted one, if any)."""
        entry = self.registry.start(configured)
        return Path(entry.folder)

    def announce(self) -> None:
        """Publish the model in force (after it is loaded and serving)."""
        e = self.registry.active
        self.active_pub.publish(String(data=json.dumps(
            {'id': e.id, 'folder': e.folder, 'source': e.source, 'since': e.t,
             'reason': e.reason})))

    def _event(self, event: str, **fields) -> None:
        self.events_pub.publish(String(data=json.dumps({'event': event, 't': time.time(),
                                                        **fields}, default=str)))
        self.node.get_logger().info(f'model {event}: {json.dumps(fields, default=str)[:300]}')

    # --- promote ---------------------------------------------------------------------
    async def _promote(self, request, response):
        return await self.offload(self._promote_now, request, response)

    def _promote_now(self, request, response):
        if not self.busy.acquire(blocking=False):
            response.outcome, response.error_code = P.OUTCOME_FAILED, int(ErrorCode.RESOURCE_BUSY)
            response.error_msg = 'a promotion or rollback is already running'
            return response
        try:
            return self._gate(request, response)
        finally:
            self.busy.release()

    def _gate(self, request, response):
        from bb_agent.safety.promote import Decision, load_gate_config, run_gate
        candidate = Path(request.candidate_path)
        if not request.candidate_path or not (candidate / 'config.json').is_file():
            response.outcome, response.error_code = P.OUTCOME_INVALID_INPUT, int(
                ErrorCode.INVALID_ARGUMENT)
            response.error_msg = f'candidate {request.candidate_path!r} is not a checkpoint'
            return response
        active = self.registry.active
        if active is None:
            response.outcome, response.error_code = P.OUTCOME_FAILED, int(
                ErrorCode.MODEL_UNAVAILABLE)
            response.error_msg = 'no model is active (the builder serves templates only)'
            return response
        if request.baseline_path and not request.dry_run and Path(
                request.baseline_path).resolve() != Path(active.folder).resolve():
            # What replaces the active model must be judged against the active model.
            response.outcome, response.error_code = P.OUTCOME_INVALID_INPUT, int(
                ErrorCode.INVALID_ARGUMENT)
            response.error_msg = ('baseline_path is for dry runs: a promotion is always '
                                  'gated against the active model')
            return response
        baseline = Path(request.baseline_path or active.folder)
        try:
            cfg = load_gate_config(Path(self.gate_config) if self.gate_config else None)
            result = run_gate(candidate, baseline, cfg)
        except BBError as exc:
            response.outcome, response.error_code = P.OUTCOME_FAILED, int(exc.code)
            response.error_msg = f'the gate could not run: {exc.message}'
            self._event('gate_failed', candidate=str(candidate), error=exc.message)
            return response
        report = self.registry.root / 'reports' / f'{int(time.time())}-{candidate.name}.md'
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(result.report)
        response.decision, response.report_path = int(result.decision), str(report)
        response.metrics = [Metric(name=m.name, value=_finite(m.value),
                                   baseline=_finite(m.baseline), threshold=m.threshold,
                                   passed=m.passed) for m in result.metrics]
        metrics = {m.name: [m.value, m.baseline, m.threshold, m.passed] for m in result.metrics}
        response.outcome = P.OUTCOME_SUCCEEDED
        if result.decision is not Decision.PROMOTE or request.dry_run:
            self._event(('dry_run_' if request.dry_run else '') + result.decision.name.lower(),
                        candidate=str(candidate), failed=result.failed, metrics=metrics,
                        report=str(report), summary=result.summary)
            return response
        try:
            self._switch(lambda: self.registry.push(candidate, 'promoted by the gate'),
                         undo=self.registry.pop)
        except BBError as exc:
            response.outcome, response.error_code = P.OUTCOME_FAILED, int(exc.code)
            response.error_msg = f'promoted but not loaded; the old model stays: {exc.message}'
            self._event('promote_failed', candidate=str(candidate), error=exc.message)
            return response
        self.watch.promoted()
        self._event('promote', candidate=str(candidate), id=self.registry.active.id,
                    previous=active.id, metrics=metrics, report=str(report))
        return response

    def _switch(self, move, undo) -> None:
        """Move the registry, load its new active model, swap it in; undo on a load failure."""
        entry = move()
        try:
            served = self.load(Path(entry.folder))
        except BBError:
            undo()
            raise
        self.swap(served)
        self.announce()

    # --- rollback --------------------------------------------------------------------
    async def _rollback(self, request, response):
        return await self.offload(self._rollback_now, request, response)

    def _rollback_now(self, request, response):
        with self.busy:
            ok, message = self.rollback('requested')
        response.success, response.message = ok, message
        return response

    def rollback(self, reason: str, event: str = 'rollback') -> tuple[bool, str]:
        """Return to the previous model; (done, what happened)."""
        left = self.registry.active
        try:
            self._switch(lambda: self.registry.pop()[1],
                         undo=lambda: self.registry.reinstate(left))
        except BBError as exc:
            return False, exc.message
        self.watch.stop()
        now = self.registry.active
        self._event(event, left=left.id, active=now.id, folder=now.folder, reason=reason)
        return True, f'rolled back from {left.id[:12]} to {now.id[:12]} ({now.folder})'

    def record(self, proposal, correlation_id: str = '') -> None:
        """Feed one proposal to the live watch; roll back by itself on a regression."""
        self._regressed(self.watch.record(proposal, correlation_id))

    def _outcome(self, msg: String) -> None:
        """Take an agent ledger event: a safety STOP of a watched plan is a live signal."""
        try:
            entry = json.loads(msg.data)
        except ValueError:
            return
        if isinstance(entry, dict) and entry.get('event') == 'outcome' and \
                entry.get('outcome') == STOPPED and \
                entry.get('code') == int(ErrorCode.SAFETY_STOP):
            self._regressed(self.watch.stopped(str(entry.get('correlation_id', ''))))

    def _regressed(self, regression) -> None:
        if regression is None or not self.busy.acquire(blocking=False):
            return
        self.watch.stop()

        def back() -> None:  # off the request's thread: loading takes seconds
            try:
                self.rollback(f'live regression: {regression}', event='auto_rollback')
            finally:
                self.busy.release()
        threading.Thread(target=back, name='auto-rollback', daemon=True).start()


def _finite(value: float) -> float:
    return value if math.isfinite(value) else 1e308
