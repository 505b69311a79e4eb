"""QoS profiles shared by the nodes, so a publisher and its subscribers always match."""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, QoSProfile

# Latched topics (estop, approvals/pending): a late joiner gets the last sample at once.
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL)
# Recent history (ledger/events): a late joiner gets the last 50 samples.
RECENT = QoSProfile(depth=50, durability=DurabilityPolicy.TRANSIENT_LOCAL)
