"""Slow clients cannot stop Heard: 150 connections that send half a request and stall hold no more than their
sockets, /healthz and clicks keep answering, and the stalled sockets are closed after HTTP_CHANNEL_TIMEOUT."""

from __future__ import annotations

import http.client
import selectors
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from app import Heard
from sandbox.fake_slack import FakeSlack
from sandbox.slack_driver import SlackDriver
from tests.care_team import CareTeam
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester

SLOW_CLIENTS = 150
CHANNEL_TIMEOUT_SECONDS = 3  # HTTP_CHANNEL_TIMEOUT in these tests; waitress looks for idle sockets every second
ANSWER_WITHIN_SECONDS = 2.0  # well inside the channel timeout: answered beside the stalled sockets, not after them
HALF_REQUESTS = (
    b"GET /healthz HTTP/1.1\r\nHost: heard\r\n",  # headers never finished
    b'POST /ingest HTTP/1.1\r\nHost: heard\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"sou',
)


@contextmanager
def stalled_clients(port: int, count: int = SLOW_CLIENTS) -> Iterator[list[socket.socket]]:
    """`count` loopback connections, each having sent half a request and waiting for nothing."""
    clients: list[socket.socket] = []
    try:
        for index in range(count):
            client = socket.create_connection(("127.0.0.1", port), timeout=5)
            client.sendall(HALF_REQUESTS[index % len(HALF_REQUESTS)])
            clients.append(client)
        yield clients
    finally:
        for client in clients:
            client.close()


def healthz_seconds(port: int, timeout: float) -> float:
    """How long GET /healthz took to answer 200 (raises TimeoutError past `timeout`)."""
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", "/healthz")
        answer = connection.getresponse()
        assert answer.status == 200, answer.read()
        answer.read()
    finally:
        connection.close()
    return time.monotonic() - started


def closed_by_heard(clients: list[socket.socket], within: float) -> int:
    """How many of `clients` Heard closed (end of stream) within `within` seconds."""
    closed = 0
    with selectors.DefaultSelector() as watching:
        for client in clients:
            watching.register(client, selectors.EVENT_READ)
        deadline = time.monotonic() + within
        while closed < len(clients) and time.monotonic() < deadline:
            for key, _ in watching.select(timeout=max(0.0, deadline - time.monotonic())):
                client = key.fileobj
                assert isinstance(client, socket.socket)
                try:
                    data = client.recv(4096)
                except ConnectionResetError:
                    data = b""
                if not data:
                    watching.unregister(client)
                    closed += 1
    return closed


def test_150_stalled_clients_leave_healthz_and_clicks_answering_until_heard_closes_them(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    heard = start_heard(HTTP_CHANNEL_TIMEOUT=f"{CHANNEL_TIMEOUT_SECONDS}s")
    base = f"http://127.0.0.1:{heard.port}"
    people = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    assert Ingester(f"{base}/ingest", INGEST_SECRET).complain().status == 202
    card = people.card()

    with stalled_clients(heard.port) as clients:
        opened = time.monotonic()
        assert healthz_seconds(heard.port, timeout=5) < ANSWER_WITHIN_SECONDS
        click = people.slack.click("Claim", on=card, channel=CHANNEL, user="U0ANA")
        assert click.status == 200 and click.elapsed_ms < ANSWER_WITHIN_SECONDS * 1000
        assert time.monotonic() - opened < CHANNEL_TIMEOUT_SECONDS  # both answered while all 150 still stalled
        people.card_shows("Owner: <@U0ANA>")

        # Then Heard lets go of them: idle past the timeout, each is closed (waitress looks every second).
        assert closed_by_heard(clients, within=CHANNEL_TIMEOUT_SECONDS * 3) == SLOW_CLIENTS


def test_with_waitresss_old_limit_of_100_connections_stalled_clients_hold_healthz_until_the_timeout(
    start_heard: Callable[..., Heard],
) -> None:
    """What the issue saw: at 100 connections waitress stops accepting, so /healthz waits for stalled sockets to be
    closed; the channel timeout is what ends that wait."""
    heard = start_heard(HTTP_CHANNEL_TIMEOUT=f"{CHANNEL_TIMEOUT_SECONDS}s", HTTP_CONNECTION_LIMIT="100")

    with stalled_clients(heard.port):
        waited = healthz_seconds(heard.port, timeout=CHANNEL_TIMEOUT_SECONDS * 4)

    assert CHANNEL_TIMEOUT_SECONDS * 0.9 < waited < CHANNEL_TIMEOUT_SECONDS * 3
