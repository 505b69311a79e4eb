"""The one robot safety model: V_s terms, limits, hazards, kinematics and swept paths.

The plan checker's prediction, the executor's dispatch-time check and the safety monitor
all evaluate V_s through this package, so they cannot disagree. The numbers come from the
domain schema's ``safety`` section.
"""
