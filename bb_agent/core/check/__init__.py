"""The plan checker and its stages, in pipeline order.

1. parse (:mod:`bb_agent.core.dsl.parser`);
2. arguments against the schema (:mod:`.check_args`);
3. edges and cycles (:mod:`.plan_graph`);
4. preconditions on every branch (:mod:`.check_sim`);
5-7. resources, duration budget, safety rules (:mod:`.check_safety`), which ask the robot
   safety model (:mod:`bb_agent.core.safety_model`) for swept paths and predicted V_s.

:mod:`.checker` runs them all and mints the approval token; :mod:`.repair` proposes fixes.
"""
