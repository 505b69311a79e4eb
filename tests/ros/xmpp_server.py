"""A real XMPP server for the chat door's tests: prosody on loopback, in a temp folder.

Plain-text login on 127.0.0.1 only (no certificates in a test), accounts made with
``prosodyctl register``. :func:`prosody_or_skip` skips the test, saying why, when prosody
or slixmpp is not installed (``make setup-bridges`` installs both).
"""

from contextlib import contextmanager
import importlib.util
from pathlib import Path
import shutil
import socket
import subprocess
import time

import pytest

CONFIG = """pidfile = "{root}/prosody.pid"
data_path = "{root}/data"
certificates = "{root}/certs"
daemonize = false
interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_interfaces = {{ "127.0.0.1" }}
s2s_ports = {{ }}
c2s_direct_tls_ports = {{ }}
modules_enabled = {{ "roster"; "saslauth"; "disco"; "ping"; "posix" }}
modules_disabled = {{ "s2s"; "http" }}
authentication = "internal_plain"
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
run_as_root = true
c2s_stanza_size_limit = 262144
log = {{ info = "{root}/prosody.log" }}
VirtualHost "localhost"
"""


def prosody_or_skip() -> None:
    """Skip the calling test module unless prosody and slixmpp are installed."""
    if shutil.which('prosody') is None or shutil.which('prosodyctl') is None:
        pytest.skip('prosody is not installed (make setup-bridges installs it with apt)',
                    allow_module_level=True)
    if importlib.util.find_spec('slixmpp') is None:
        pytest.skip('slixmpp is not installed (make setup-bridges)', allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Prosody:
    """One prosody server in ``root``; :meth:`restart` brings it back on the same port."""

    def __init__(self, root: Path, accounts: dict[str, str]) -> None:
        self.root, self.port = root, _free_port()
        (root / 'data').mkdir(parents=True, exist_ok=True)
        (root / 'certs').mkdir(exist_ok=True)
        self.cfg = root / 'prosody.cfg.lua'
        self.cfg.write_text(CONFIG.format(root=root, port=self.port))
        for user, password in accounts.items():
            subprocess.run(['prosodyctl', '--config', str(self.cfg), 'register', user,
                            'localhost', password], check=True, capture_output=True, timeout=30)
        self.proc = None

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self.proc = subprocess.Popen(['prosody', '--config', str(self.cfg), '-F'],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), 0.5).close()
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, \
                    (self.root / 'prosody.log').read_text()[-2000:]
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (every client is disconnected)."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def restart(self, down_s: float = 1.0) -> None:
        """Stop, stay down ``down_s`` seconds, start again on the same port."""
        self.stop()
        time.sleep(down_s)
        self.start()


@contextmanager
def prosody(root: Path, accounts: dict[str, str]):
    """Run prosody in ``root`` with ``accounts`` ({user: password} at localhost)."""
    server = Prosody(root, accounts)
    server.start()
    try:
        yield server
    finally:
        server.stop()
