"""The agent's intent stages: the anchors before the builder, the gate after the checker.

Functions of the running :class:`~bb_agent.nodes.agent_node.AgentNode` (``agent``): its
ledger, feedback, service clients and live world. The logic is
:mod:`bb_agent.core.intent`'s; these wire it to ROS.
"""

from __future__ import annotations

from std_msgs.msg import Empty
from std_srvs.srv import Trigger

from bb_agent.core.intent.anchors import AnchorKind, anchor
from bb_agent.core.intent.conformance import conform_program
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.schema import load_schema
from bb_msgs.action import HandleRequest

R = HandleRequest.Result
F = HandleRequest.Feedback


def anchor_stage(agent, cid: str, goal, result, end):
    """Decide what code decides before any model; return the result, or None to go on."""
    try:
        schema = load_schema(goal.domain)
    except BBError:
        return None
    decided = anchor(goal.text, schema) if goal.domain == 'robot' else None
    if decided is None or decided.kind is AnchorKind.NONE:
        return None
    agent.ledger.record('anchor', correlation_id=cid, kind=decided.kind.value,
                       message=decided.message, matched=decided.matched)
    if decided.kind is AnchorKind.STOP and goal.dry_run:  # a dry run changes nothing
        return end(R.OUTCOME_STOPPED, ErrorCode.STOP_REQUESTED,
                   decided.message + '; dry run: STOP would latch, nothing was latched')
    if decided.kind is AnchorKind.STOP:
        agent.stop_pub.publish(Empty())  # the robot stops at once, whoever latches
        answer = agent._call(agent.safety_stop, Trigger.Request(), 2.0)
        note = '; the safety monitor latched it' if answer is not None and \
            answer.success else '; the safety monitor did not answer: the robot was ' \
                                'told to stop directly'
        return end(R.OUTCOME_STOPPED, ErrorCode.STOP_REQUESTED, decided.message + note)
    if decided.kind is AnchorKind.REJECT:
        return end(R.OUTCOME_REJECTED, ErrorCode.OVER_LIMIT, decided.message)
    result.deferred, result.clarification_question = True, decided.question
    return end(R.OUTCOME_DEFERRED, ErrorCode.AUTHORITY_CLAIM, decided.message)

def conform_stage(agent, handle, cid: str, goal, plan, history):
    """Run the intent gate on the checked plan; None for domains it does not judge."""
    if goal.domain != 'robot':
        return None
    gate = conform_program(goal.text, plan.program,
                           agent.live.fresh_world(agent.p['world_max_age_s']),
                           load_schema(goal.domain), history)
    agent.ledger.record('intent', correlation_id=cid, **gate.to_dict())
    agent._feedback(handle, cid, F.STAGE_CONFORMING, 0.42, 'intent: matches the request'
                   if gate.ok else 'intent: mismatch: ' +
                   '; '.join(m.message for m in gate.mismatches))
    return gate
