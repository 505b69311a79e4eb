"""``bb-agent ask "TEXT"``: send one HandleRequest and print its stages and result."""

from __future__ import annotations

import json

from bb_agent.nodes.goal_client import send_goal
from bb_agent.nodes.spun import SpunNode


def ask(text: str, *, domain: str = 'robot', actor: str = 'cli', session: str = '',
        request_key: str = '', dry_run: bool = False, timeout: float = 300.0,
        on_stage=print) -> dict:
    """Send the request, report each stage through ``on_stage``, return the result dict."""
    from bb_msgs.action import HandleRequest
    ros = SpunNode('bb_agent_ask')
    try:
        client = ros.action_client(HandleRequest, 'handle_request')
        goal = HandleRequest.Goal(text=text, domain=domain, actor_id=actor,
                                  session_id=session, request_key=request_key,
                                  dry_run=dry_run)
        return send_goal(client, goal, timeout, on_stage)
    finally:
        ros.close()


def print_result(result: dict) -> None:
    """Print the result as indented JSON."""
    print(json.dumps(result, indent=2))
