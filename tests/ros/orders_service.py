"""A small real order service on loopback (http.server in a thread) for the API door's tests."""

from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
import json
import threading


class Orders(BaseHTTPRequestHandler):
    """GET /orders/<id> answers {"status": "shipped"}; every request path is recorded."""

    calls: list = []

    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
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
