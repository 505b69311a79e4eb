"""The HTTP API's server stack in-process: slow-loris connections are cut, not kept forever."""

import socket
import time

import pytest
import rclpy

from tests.ros.test_params import _in_context

pytestmark = pytest.mark.ros


@pytest.fixture
def bridge(monkeypatch):
    from bb_agent.nodes import http_api
    from bb_agent.nodes.http_bridge_node import HttpBridgeNode
    monkeypatch.setenv('ROS_AUTOMATIC_DISCOVERY_RANGE', 'OFF')
    monkeypatch.setattr(http_api, 'HEADER_TIMEOUT_S', 0.5)  # the deadline, shortened
    ctx = rclpy.Context()
    rclpy.init(context=ctx, args=['--ros-args', '--log-level', 'fatal', '-p', 'port:=0'])
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
