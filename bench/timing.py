"""Shared timing helpers: percentiles over repeated calls, in microseconds."""

from __future__ import annotations

from collections.abc import Callable
import platform
import statistics
import sys
import time


def time_calls(fn: Callable[[], object], *, repeats: int, warmup: int = 5) -> list[float]:
    """Call ``fn`` ``warmup`` + ``repeats`` times; return the timed durations in µs."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        fn()
        out.append((time.perf_counter_ns() - start) / 1000.0)
    return out


def percentile(samples: list[float], q: float) -> float:
    """Return the ``q``-quantile (0..1) of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(samples: list[float]) -> dict[str, float]:
    """Return p50/p99/mean in µs, rounded to 0.1 µs."""
    return {'p50_us': round(percentile(samples, 0.5), 1),
            'p99_us': round(percentile(samples, 0.99), 1),
            'mean_us': round(statistics.fmean(samples), 1), 'n': len(samples)}


def machine() -> dict[str, str]:
    """Describe where the numbers were taken."""
    import os
    return {'python': sys.version.split()[0], 'platform': platform.platform(),
            'cpus': str(os.cpu_count()), 'time': time.strftime('%Y-%m-%dT%H:%M:%SZ',
                                                               time.gmtime())}
