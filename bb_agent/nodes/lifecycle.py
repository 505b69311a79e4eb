"""Shared start-up and spin helpers of the bb_agent nodes.

Every node spins one :class:`~rclpy.executors.SingleThreadedExecutor`. rclpy's
MultiThreadedExecutor costs a lot on a small CPU: measured here, one 50 Hz subscription
took 5% of a core single-threaded against 13-101% multi-threaded (the thread-pool hand-off
can busy-loop), and its latency tail reached hundreds of ms. Callbacks that would block
(a skill, a plan, a model decode, a wait for an operator) are coroutines that ``await``
:class:`Offload`: the work runs on its own thread and the executor keeps serving every
other callback meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import functools
import signal
import threading
import time
from typing import Any

import rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.signals import SignalHandlerOptions
from rclpy.task import Future

from bb_agent.nodes import stopping


def autostart(node) -> None:
    """Configure and activate a LifecycleNode whose ``autostart`` parameter is true.

    Raises:
        RuntimeError: when a transition fails (the node cannot run; fail at start-up).
    """
    if not node.get_parameter('autostart').value:
        return
    from rclpy.lifecycle import TransitionCallbackReturn
    for transition in (node.trigger_configure, node.trigger_activate):
        if transition() != TransitionCallbackReturn.SUCCESS:
            raise RuntimeError(f'{node.get_name()}: {transition.__name__} failed')


class Offload:
    """Runs blocking work on a worker thread for a coroutine callback to ``await``.

    ``await offload(fn, *args)`` returns ``fn``'s result or raises its exception; register
    the awaiting callback with ``callback_group=offload.group``. A guard
    condition wakes the executor when the work ends, so the awaiting callback resumes at
    once (measured: 0.6 ms) instead of at the executor's next unrelated wake-up.
    """

    def __init__(self, node) -> None:
        # Callbacks that await offloaded work belong in ``group``: a coroutine callback holds
        # its group until it returns, and the default group is mutually exclusive (it would
        # starve every other default-group callback, this wake-up included).
        self.group = ReentrantCallbackGroup()
        self._wake = node.create_guard_condition(lambda: None, callback_group=self.group)
        self._name = node.get_name()

    async def __call__(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on a new thread; return its result (or raise its exception)."""
        future: Future = Future()

        def work() -> None:
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the awaiting callback
                future.set_exception(exc)
            finally:
                self._wake.trigger()

        threading.Thread(target=work, name=f'{self._name}-work', daemon=True).start()
        return await future


SHUTDOWN_RACE_S = 0.5  # how long a failed take may wait to turn out a SIGINT's shutdown
STOP_POLL_S = 1.0  # s: the spin loop's look at the stop flag when idle (a backstop: a
# stop wakes the executor at once, stopping.on_stop)


def ros_init(args=None) -> None:
    """Start rclpy for a node's ``main``; a stop asked for before now ends the start-up here.

    A node process started by its entry point (:mod:`bb_agent.nodes.entry`) stops by the
    :mod:`~bb_agent.nodes.stopping` flag, so rclpy installs no signal handlers of its own;
    anywhere else rclpy's defaults apply.
    """
    options = SignalHandlerOptions.NO if stopping.installed() else SignalHandlerOptions.ALL
    rclpy.init(args=args, signal_handler_options=options)
    if stopping.requested():
        raise stopping.StopRequested


def _quiet_interrupts() -> None:
    """Ignore further SIGINTs once the stop has begun.

    A terminal's Ctrl-C and ``ros2 launch`` each send one; a second one must not break the
    clean-up with a traceback.
    """
    with contextlib.suppress(ValueError):  # not the main thread: nothing to change
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def clean_exit(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a node's ``main``: a SIGINT at any moment (start-up included) is a clean stop.

    A Ctrl-C while a node still imports torch or configures itself used to end in a
    KeyboardInterrupt traceback and exit -2; now it exits 0 like a stop while spinning.
    """
    @functools.wraps(main)
    def wrapper(args=None) -> int:
        try:
            return main(args)
        except (KeyboardInterrupt, ExternalShutdownException, stopping.StopRequested):
            _quiet_interrupts()
            rclpy.try_shutdown()
            return 0
        except Exception:
            # A SIGINT during construction shuts the context down under rcl calls, which
            # then fail ("context is invalid"): a stop, not a fault, once the context is down.
            if rclpy.ok():
                raise
            _quiet_interrupts()
            return 0
    return wrapper


def run_node(node) -> int:
    """Spin ``node`` on a single-threaded executor until SIGINT/shutdown; print READY once."""
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    if not stopping.requested():  # a stop asked for during construction: never READY
        print(f'{node.get_name()} READY', flush=True)
    # A stop triggers this guard condition: its (empty) callback is work, so the executor's
    # wait returns at once (executor.wake() alone only rebuilds the wait and waits on).
    stopping.on_stop(node.create_guard_condition(lambda: None).trigger)
    try:
        while rclpy.ok(context=node.context) and not stopping.requested():
            executor.spin_once(timeout_sec=STOP_POLL_S)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    except Exception:
        # SIGINT shuts the context down under a callback that is taking a message; rclpy
        # then raises from the take (seen: RuntimeError in take_message), sometimes just
        # before the shutdown is visible. Only then is it a clean stop; anything else is a
        # real failure, raised after a short look.
        deadline = time.monotonic() + SHUTDOWN_RACE_S
        while rclpy.ok(context=node.context) and time.monotonic() < deadline:
            time.sleep(0.01)
        if rclpy.ok(context=node.context):
            raise
    finally:
        _quiet_interrupts()
        executor.shutdown(timeout_sec=1.0)
        node.destroy_node()
        if rclpy.ok():
            rclpy.try_shutdown()
    return 0
