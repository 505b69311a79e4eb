"""Pure-Python heart of bb_agent, free of rclpy and torch.

Sub-packages follow the pipeline: :mod:`.dsl` (grammar, parser, AST), :mod:`.check` (the
plan checker's stages, repair, approval tokens) and :mod:`.safety_model` (the one robot
safety model: V_s terms, hazards, kinematics, swept paths). Beside them: the typed outcome
registry shared with bb_msgs, config and world schemas, the execution engine and the
request gateway. Deterministic and unit-tested with plain pytest; nodes, the decoder and
the trainer call into it rather than re-implementing any of it.
"""
