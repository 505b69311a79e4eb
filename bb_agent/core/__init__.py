"""Pure-Python heart of bb_agent, free of rclpy and torch.

Here live the robot DSL's typed AST and parser front-end, the plan graph, the plan
checker and its repair passes, the V_s safety-value mathematics, runtime policies
(deferral thresholds, retries, circuit breakers), the typed outcome and error-code
registry shared with bb_msgs, and the pydantic schemas for every config file. All of
it is deterministic and unit-tested with plain pytest; nodes, the decoder and the
trainer call into it rather than re-implementing any of it.
"""
