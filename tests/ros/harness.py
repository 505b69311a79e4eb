"""Start and stop test processes the way a supervisor should (own process group, SIGINT)."""

import os
import signal
import subprocess
import threading
import time


class Proc:
    """A child process in its own session, whose stdout lines are collected in the background.

    Args:
        argv: the command line.
        cwd: working directory.
        env: environment (defaults to this process's).
    """

    def __init__(self, argv, *, cwd, env=None):
        self.popen = subprocess.Popen(
            argv, cwd=cwd, env=env or os.environ.copy(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.lines = []
        self._new_line = threading.Condition()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.popen.stdout:
            with self._new_line:
                self.lines.append(line.rstrip('\n'))
                self._new_line.notify_all()

    def wait_for_line(self, text, timeout):
        """Return True once a stdout line equals ``text``; False on timeout or exit."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while text not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0 or self.popen.poll() is not None:
                    return text in self.lines
                self._new_line.wait(min(left, 0.1))
        return True

    def stop(self, timeout=5.0):
        """SIGINT the process group, SIGKILL it after ``timeout`` s; return the exit code."""
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGINT)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout)
        return self.popen.returncode

    def output(self):
        """Everything the process printed so far."""
        return '\n'.join(self.lines)
