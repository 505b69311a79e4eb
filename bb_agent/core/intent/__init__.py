"""Only what was asked: the request's deterministic anchors and the intent-conformance gate.

- :mod:`.lexicon`: the domain schema's words for skills, objects, modifiers (one source).
- :mod:`.quantities`: explicit values (speeds, forces, distances, durations, counts).
- :mod:`.anchors`: decided by code before any model: STOP, over-limit values, authority
  claims.
- :mod:`.request`: what a request asks for (actions, mentions, modifiers, order).
- :mod:`.conformance`: does a plan do that, and nothing else?
- :mod:`.calibration`: the confidence that drives deferral, fitted to faithfulness.

Pure Python: no rclpy, no torch.
"""
