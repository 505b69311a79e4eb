"""Safety logic that sits between plans and motion, free of rclpy.

The V_s safety-monitor state machine (thresholds, rise tolerance, latching STOP, stale
and NaN inputs failing closed), the promotion gate that decides whether a trained
checkpoint may replace the active one, and the append-only run ledger that records
requests, verdicts, approvals and outcomes.
"""
