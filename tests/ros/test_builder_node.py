"""The builder node in-process (its own rclpy context, no other node)."""

import pytest

from bb_msgs.srv import ProposePlan
from tests.ros.test_params import _in_context

pytestmark = pytest.mark.ros


@pytest.mark.parametrize('goal', ['Put the red cup in bin A.', 'go home'])
def test_when_no_world_state_arrives_expect_unavailable_with_the_reason(rclpy_context, goal):
    from bb_agent.nodes.builder_node import BuilderNode
    node = _in_context(BuilderNode, rclpy_context)
    try:
        node.trigger_configure()
        node.trigger_activate()
        answer = node._propose_now(ProposePlan.Request(goal=goal, domain='robot'),
                                   ProposePlan.Response())
        assert answer.outcome == ProposePlan.Response.OUTCOME_UNAVAILABLE
        assert answer.error_code == 401 and 'world state' in answer.error_msg
        assert not answer.clarification_question  # not a question about objects
    finally:
        node.destroy_node()
