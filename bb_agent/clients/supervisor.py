"""``bb-agent up``: start the stack's nodes from config/agent.yaml, one process each.

The same node list and parameter files as ``launch/agent.launch.py``. Prints
``bb-agent up: READY`` once every node printed its own READY line; SIGINT/SIGTERM stops
every node (SIGINT, then SIGKILL after ``grace_s``) within 5 s and exits 0; a required
node that dies stops the stack with exit code 1.
"""

from __future__ import annotations

import atexit
from dataclasses import dataclass
import os
from pathlib import Path
import signal
import subprocess
import sys
import tempfile
import threading
import time

from bb_agent.core.bringup import NodeSpec, load_bringup
from bb_agent.core.outcomes import BBError, ErrorCode
from bb_agent.core.resources import config_path

GRACE_S = 4.0  # SIGINT -> SIGKILL, seconds (whole shutdown stays under 5 s)


@dataclass
class Child:
    """One node process."""

    spec: NodeSpec
    popen: subprocess.Popen
    ready: threading.Event


def node_argv(spec: NodeSpec, *, namespace: str = '', params_file: str = '',
              model_path: str = '', overrides: dict | None = None) -> list[str]:
    """Return the command line of one node (the venv's console script)."""
    exe = str(Path(sys.executable).with_name(spec.executable))
    argv = [exe, '--ros-args', '-r', f'__node:={spec.name}']
    if namespace:
        argv += ['-r', f'__ns:=/{namespace.strip("/")}']
    for params in spec.params:
        argv += ['--params-file', str(config_path(*params.split('/')))]
    if params_file:
        argv += ['--params-file', params_file]
    if model_path and spec.name == 'builder':
        argv += ['-p', f'model_path:={model_path}']
    for key, value in (overrides or {}).get(spec.name, {}).items():
        argv += ['-p', f'{key}:={value}']
    return argv


def node_env() -> dict:
    """Return the nodes' environment: ours, plus the stack's Fast DDS participant profile.

    The profile (config/fastdds/participant.xml) makes peers drop a node that died without a
    goodbye after 5 s instead of 20 s; a profile the caller set is kept.
    """
    env = dict(os.environ)
    env.setdefault('FASTDDS_DEFAULT_PROFILES_FILE', str(config_path('fastdds',
                                                                    'participant.xml')))
    return env


def _readable_copy(params_file: str) -> str:
    """Return ``params_file``, or a temp copy of it when it is a pipe (``<(printf ...)``).

    A pipe can be read once, and not at all by children (their inherited fds are closed):
    every node and the ``enabled_by`` check need the same text.
    """
    path = Path(params_file) if params_file else None
    if path is None or path.is_file():
        return params_file
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        raise BBError(ErrorCode.INVALID_ARGUMENT,
                      f'cannot read --params-file {params_file}: {exc}') from exc
    copy = tempfile.NamedTemporaryFile('w', suffix='.yaml', prefix='bb_params_', delete=False)
    with copy:
        copy.write(text)
    atexit.register(os.unlink, copy.name)
    return copy.name


class Supervisor:
    """Starts, watches and stops the node processes."""

    def __init__(self, *, use_sim: bool = True, namespace: str = '', params_file: str = '',
                 model_path: str = '', overrides: dict | None = None, quiet: bool = False,
                 bringup_file: Path | None = None) -> None:
        self.bringup = load_bringup(bringup_file or config_path('agent.yaml'))
        self.opts = dict(namespace=namespace, params_file=_readable_copy(params_file),
                         model_path=model_path, overrides=overrides)
        self.use_sim, self.quiet = use_sim, quiet
        self.children: list[Child] = []
        self.stopping = threading.Event()

    def _pump(self, child: Child) -> None:
        for line in child.popen.stdout:
            if line.strip() == f'{child.spec.name} READY':
                child.ready.set()
            if not self.quiet:
                sys.stdout.write(f'[{child.spec.name}] {line}')
                sys.stdout.flush()

    def start(self) -> None:
        """Start every node (sim_only ones only with use_sim; enabled_by ones when set)."""
        for spec in self.bringup.nodes:
            if spec.sim_only and not self.use_sim:
                continue
            files = [config_path(*f.split('/')) for f in spec.params]
            if self.opts['params_file']:
                files.append(self.opts['params_file'])
            if not spec.enabled(files, (self.opts['overrides'] or {}).get(spec.name)):
                continue  # an optional door without its configuration
            popen = subprocess.Popen(node_argv(spec, **self.opts), stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     start_new_session=True, env=node_env())
            child = Child(spec, popen, threading.Event())
            threading.Thread(target=self._pump, args=(child,), daemon=True).start()
            self.children.append(child)

    def wait_ready(self, timeout: float) -> bool:
        """Return True once every node is READY (False on timeout or a required death).

        An optional node (``required: false``) that exited does not hold the stack back.
        """
        deadline = time.monotonic() + timeout
        while not all(c.ready.is_set() or (not c.spec.required and c.popen.poll() is not None)
                      for c in self.children):
            if time.monotonic() > deadline or self.dead():
                return False
            time.sleep(0.05)
        return True

    def dead(self) -> list[Child]:
        """Return the required children that exited."""
        return [c for c in self.children if c.spec.required and c.popen.poll() is not None]

    def stop(self) -> None:
        """SIGINT every node, SIGKILL what is left after the grace period."""
        self.stopping.set()
        for c in self.children:
            if c.popen.poll() is None:
                os.killpg(c.popen.pid, signal.SIGINT)
        deadline = time.monotonic() + GRACE_S
        for c in self.children:
            try:
                c.popen.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(c.popen.pid, signal.SIGKILL)
                c.popen.wait(1.0)

    def run(self, ready_timeout: float = 120.0) -> int:
        """Run until a signal (exit 0) or a required node's death (exit 1)."""
        def on_signal(_sig, _frame):
            self.stopping.set()
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        self.start()
        if self.wait_ready(ready_timeout):
            print('bb-agent up: READY', flush=True)
        code = 0
        while not self.stopping.is_set():
            gone = self.dead()
            if gone:
                print(f'bb-agent up: required node {gone[0].spec.name} exited with '
                      f'{gone[0].popen.returncode}; stopping the stack', file=sys.stderr,
                      flush=True)
                code = 1
                break
            time.sleep(0.1)
        self.stop()
        return code
