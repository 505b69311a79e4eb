"""The agent's operator board: requests awaiting approval, and the ledger as it is written.

Publishes, for operator consoles (the web console of ``http_bridge``, ``ros2 topic echo``):

- ``approvals/pending`` (std_msgs/String, JSON list, transient local): the requests that
  wait for an operator, each ``{correlation_id, text, actor, program, why, since}``; a new
  list on every change, so a late subscriber sees the current one;
- ``ledger/events`` (std_msgs/String, one JSON record each, transient local, depth 50): the
  run ledger's records as the agent appends them (the last 50 reach a late subscriber).

Decisions arrive through the agent's ``approve`` service (:meth:`OperatorBoard.decide`).
"""

from __future__ import annotations

import json
import threading
import time

from std_msgs.msg import String

from bb_agent.nodes.qos import LATCHED, RECENT


class OperatorBoard:
    """Pending approvals (thread-safe) and their topics, on ``node``."""

    def __init__(self, node) -> None:
        self.node = node
        self.pending_pub = node.create_publisher(String, 'approvals/pending', LATCHED)
        self.events_pub = node.create_publisher(String, 'ledger/events', RECENT)
        self._waiting: dict[str, tuple[threading.Event, list, dict]] = {}
        self._lock = threading.Lock()
        self._publish()

    def follow_models(self, ledger) -> None:
        """Write the builder's model events (promote, reject, rollback...) to ``ledger``.

        Every later record's stamp carries the id (sha256) of the model in force
        (``model/active``, latched).
        """
        def active(msg) -> None:
            try:
                ledger.stamp = {**ledger.stamp, 'model_id': json.loads(msg.data)['id']}
            except (ValueError, KeyError, TypeError):
                self.node.get_logger().warning('model/active: not a model record')

        def event(msg) -> None:
            try:
                fields = json.loads(msg.data)
                name = str(fields.pop('event'))
            except (ValueError, KeyError, TypeError, AttributeError):
                self.node.get_logger().warning('model/events: not an event record')
                return
            fields.pop('t', None)
            ledger.record(f'model_{name}', **{k: v for k, v in fields.items()
                                              if k not in ('stamp', 'seq', 'prev', 'hash')})
        self.node.create_subscription(String, 'model/active', active, LATCHED)
        self.node.create_subscription(String, 'model/events', event, 10)

    def record(self, entry: dict) -> None:
        """Publish one ledger record (the Ledger's ``on_record``)."""
        self.events_pub.publish(String(data=json.dumps(entry, sort_keys=True, default=str)))

    def wait(self, cid: str, info: dict, timeout_s: float):
        """Block until an operator decides ``cid``; return ``(approve, operator, reason)``.

        None when ``timeout_s`` passes first (a decision after that is refused as late).
        """
        event, box = threading.Event(), []
        with self._lock:
            self._waiting[cid] = (event, box, {**info, 'correlation_id': cid,
                                               'since': round(time.time(), 3)})
        self._publish()
        try:
            event.wait(timeout_s)
            event.set()  # a late decision is refused
            return box[0] if box else None
        finally:
            with self._lock:
                self._waiting.pop(cid, None)
            self._publish()

    def decide(self, cid: str, decision: tuple[bool, str, str]) -> str:
        """Hand ``decision`` to the request ``cid``: 'applied', 'unknown' or 'late'."""
        with self._lock:
            waiting = self._waiting.get(cid)
            if waiting is None:
                return 'unknown'
            event, box, _info = waiting
            if event.is_set():
                return 'late'
            box.append(decision)
            event.set()
        return 'applied'

    def _publish(self) -> None:
        with self._lock:
            items = [info for _e, _b, info in self._waiting.values()]
        self.pending_pub.publish(String(data=json.dumps(items, sort_keys=True)))


def ledger_stamp(params: dict) -> dict:
    """Return what every ledger record carries (its ``stamp``).

    The schema and grammar hashes per domain, and the hash of the agent's parameters in
    force at start.
    """
    import hashlib

    from bb_agent.core.dsl.grammar import load_grammar
    from bb_agent.core.schema import DOMAINS, load_schema
    schemas = {d: load_schema(d) for d in DOMAINS}
    return {'schema_sha256': {d: s.sha256 for d, s in schemas.items()},
            'grammar_sha256': {d: load_grammar(s.grammar).sha256 for d, s in schemas.items()},
            'config_sha256': hashlib.sha256(json.dumps(params, sort_keys=True, default=str)
                                            .encode()).hexdigest()}
