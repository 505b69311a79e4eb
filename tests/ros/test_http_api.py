"""The HTTP API's server stack in-process: slow-loris connections are cut, not kept forever."""

import socket
import time

import pytest
import rclpy

from tests.ros.test_params import _in_context

pytestmark = pytest.mark.ros


@pytest.fixture
def bridge(monkeypatch, tmp_path):
    from bb_agent.core.api_access import hash_token
    from bb_agent.nodes import http_api
    from bb_agent.nodes.http_bridge_node import HttpBridgeNode
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    monkeypatch.setattr(http_api, 'HEADER_TIMEOUT_S', 0.5)  # the deadline, shortened
    ctx = rclpy.Context()
    tokens = tmp_path / 'tokens.yaml'
    tokens.write_text(f'tokens:\n  - {{name: t, sha256: {hash_token("x")}, scopes: [plan]}}\n')
    rclpy.init(context=ctx, args=['--ros-args', '--log-level', 'fatal', '-p', 'port:=0',
                                  '-p', f'tokens_file:={tokens}'])
    node = _in_context(HttpBridgeNode, ctx)
    yield node
    node.destroy_node()
    rclpy.try_shutdown(context=ctx)


def test_when_clients_never_finish_their_headers_expect_the_connections_closed(bridge):
    node = bridge
    socks = []
    try:
        for _ in range(50):  # half-open: a request line and one header, then nothing
            s = socket.create_connection(('127.0.0.1', node.port), timeout=5)
            s.sendall(b'POST /v1/requests HTTP/1.1\r\nHost: x\r\n')
            socks.append(s)
        time.sleep(1.5)
        closed = sum(s.recv(1) == b'' for s in socks)
        assert closed == len(socks)  # every one was cut by the server
    finally:
        for s in socks:
            s.close()


@pytest.mark.parametrize('head,status', [
    (b'Content-Length: -5\r\n', 400),  # negative
    (b'Content-Length: abc\r\n', 400),  # not a number
    (b'Content-Length: 10000000\r\n', 413),  # 10 MB: refused before it is read
])
def test_when_content_length_is_bad_expect_a_typed_status_not_a_reset(bridge, head, status):
    with socket.create_connection(('127.0.0.1', bridge.port), timeout=5) as s:
        s.sendall(b'POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json'
                  b'\r\nAuthorization: Bearer x\r\n' + head + b'\r\n{}')
        answer = s.recv(4096)
    assert answer.startswith(f'HTTP/1.1 {status}'.encode()), answer[:200]
