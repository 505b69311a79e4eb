"""A kinematic mobile base (unicycle) for the sim robot's ``cmd_vel`` interface (no physics).

Velocity commands (linear.x m/s, angular.z rad/s) are clamped to the base's limits and
integrated at each :meth:`SimBase.step`. Like real base drivers it stops by itself when
commands stop arriving for ``command_timeout_s``, and while STOP is latched it ignores them.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import threading
import time


@dataclass(frozen=True)
class BaseSpec:
    """Limits of the simulated base."""

    max_linear: float = 0.5  # m/s
    max_angular: float = 1.5  # rad/s
    command_timeout_s: float = 0.5  # no command for this long -> stand still


class SimBase:
    """The base's pose (x, y in m, yaw in rad) and its last velocity command."""

    def __init__(self, spec: BaseSpec = BaseSpec(), time_scale: float = 1.0) -> None:
        self.spec, self.time_scale = spec, time_scale
        self.lock = threading.Lock()
        self.pose = (0.0, 0.0, 0.0)
        self.command = (0.0, 0.0)
        self.commanded_at = float('-inf')
        self.stepped_at = time.monotonic()
        self.speed = 0.0  # m/s, of the last step
        self.estop = threading.Event()

    def command_velocity(self, linear: float, angular: float) -> None:
        """Take a velocity command (NaN or inf is refused and stops the base)."""
        if not all(math.isfinite(v) for v in (linear, angular)):
            linear = angular = 0.0
        with self.lock:
            self.command = (max(-self.spec.max_linear, min(self.spec.max_linear, linear)),
                            max(-self.spec.max_angular, min(self.spec.max_angular, angular)))
            self.commanded_at = time.monotonic()

    def stop(self) -> None:
        """Stand still now."""
        with self.lock:
            self.command = (0.0, 0.0)

    def step(self) -> tuple[float, float, float]:
        """Integrate the motion since the last step and return the pose."""
        now = time.monotonic()
        with self.lock:
            dt = (now - self.stepped_at) * self.time_scale  # simulated seconds
            self.stepped_at = now
            fresh = now - self.commanded_at <= self.spec.command_timeout_s
            linear, angular = self.command if fresh and not self.estop.is_set() else (0.0, 0.0)
            x, y, yaw = self.pose
            yaw = math.atan2(math.sin(yaw + angular * dt), math.cos(yaw + angular * dt))
            self.pose = (x + linear * dt * math.cos(yaw), y + linear * dt * math.sin(yaw), yaw)
            self.speed = abs(linear)
            return self.pose
