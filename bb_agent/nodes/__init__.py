"""Thin rclpy nodes: the only layer that imports rclpy and bb_msgs.

Each node declares its parameters (with descriptions and ranges), wires topics,
services, actions, timers and lifecycle transitions, and converts between bb_msgs
and the pure types of :mod:`bb_agent.core`. All decisions are made by the modules it
calls; safety-relevant nodes (executor, safety monitor, sim robot) are LifecycleNodes.
"""
