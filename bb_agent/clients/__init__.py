"""ROS 2 clients of a running stack, used by the command line and the tests.

``bb-agent ask`` (:mod:`.ask`), the scripted demo (:mod:`.demo`, :mod:`.demo_report`) and
the venv bring-up that starts and watches the node processes (:mod:`.supervisor`). Nodes
live in :mod:`bb_agent.nodes`, the command line in :mod:`bb_agent.cli`.
"""
