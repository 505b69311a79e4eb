"""Real peers on loopback for the doors' tests and benchmarks.

- :func:`orders_service`: a small order service (http.server in a thread) for the API door;
- :class:`Prosody`: an XMPP server (prosody) in a temp folder for the chat door, plain-text
  login on 127.0.0.1 only (no certificates), accounts made with ``prosodyctl register``;
- :class:`XmppUser`: a real XMPP client (slixmpp) that messages the bridge's account.
"""

import asyncio
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
from pathlib import Path
import queue
import socket
import subprocess
import threading
import time


class Orders(BaseHTTPRequestHandler):
    """GET /orders/<id> answers {"status": "shipped"}; every request path is recorded."""

    calls: list = []

    def log_message(self, *args):
        """Log nothing (a test's output stays readable)."""

    def do_GET(self):  # noqa: N802 (http.server's naming)
        """Record the path; answer the order's status."""
        Orders.calls.append(self.path)
        body = json.dumps({'status': 'shipped'}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def orders_service():
    """Serve :class:`Orders` on a free loopback port; yield its base URL."""
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Orders)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{srv.server_address[1]}'
    finally:
        srv.shutdown()
        srv.server_close()


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


def free_port() -> int:
    """Return a loopback TCP port that was free a moment ago (the OS picked it)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Prosody:
    """One prosody server in ``root``; :meth:`restart` brings it back on the same port."""

    def __init__(self, root: Path, accounts: dict[str, str]) -> None:
        self.root, self.port = root, free_port()
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


class XmppUser:
    """A real XMPP client in its own thread; :meth:`ask` sends and waits for the next reply.

    Args:
        jid: the user's full JID, e.g. ``alice@localhost/test``.
        password: its password.
        port: the server's client port on 127.0.0.1 (plain-text login).
        to: whom messages go to (the bridge's account).
    """

    def __init__(self, jid: str, password: str, port: int,
                 to: str = 'bridge@localhost') -> None:
        import slixmpp
        self.to, self.replies = to, queue.Queue()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        ready = threading.Event()
        self.xmpp = slixmpp.ClientXMPP(jid, password)
        self.xmpp.enable_starttls = self.xmpp.enable_direct_tls = False
        self.xmpp.enable_plaintext = True
        self.xmpp.plugin['feature_mechanisms'].unencrypted_plain = True

        async def start(_event):
            self.xmpp.send_presence()
            await self.xmpp.get_roster()
            ready.set()

        self.xmpp.add_event_handler('session_start', start)
        self.xmpp.add_event_handler('message', lambda m: m['type'] == 'chat' and
                                    self.replies.put(m['body']))
        self.xmpp.connect('127.0.0.1', port)
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        if not ready.wait(30):
            raise RuntimeError(f'{jid} could not log in')

    def send(self, text: str) -> None:
        """Send ``text`` to the bridge (from any thread)."""
        self.loop.call_soon_threadsafe(lambda: self.xmpp.send_message(
            mto=self.to, mbody=text, mtype='chat'))

    def ask(self, text: str, timeout: float = 60.0) -> str:
        """Send ``text`` and return the next reply (queue.Empty after ``timeout``)."""
        self.send(text)
        return self.replies.get(timeout=timeout)

    def close(self) -> None:
        """Log out."""
        self.loop.call_soon_threadsafe(self.xmpp.disconnect)
        time.sleep(0.3)
