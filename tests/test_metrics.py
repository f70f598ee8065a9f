"""An operator's view of Heard: `/metrics` scraped as Prometheus does, after complaints arrive, are acknowledged or
breach, after Slack, X and Meta fail, and with two copies running."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from app import Heard
from bot.projections import CARD
from sandbox.fake_slack import Call, FakeSlack
from sandbox.slack_driver import SlackDriver
from storage.db import Database
from tests.care_team import CareTeam, visible_text
from tests.conftest import CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.meta_desk import PAGE_ID, meta_settings, running_graph, start_desk
from tests.support import Ingester
from tests.x_api import BRAND_ID, FakeX

ANA, BOSS = "U0ANA", "U0BOSS"


@dataclass(frozen=True)
class Scrape:
    """One scrape of `/metrics`, read with Prometheus' own parser."""

    samples: list[tuple[str, dict[str, str], float]]
    families: dict[str, str]  # name -> type

    def value(self, name: str, **labels: str) -> float | None:
        found = [value for sample, got, value in self.samples if sample == name and got == labels]
        return found[0] if found else None

    def labelled(self, name: str, label: str) -> dict[str, float]:
        return {got[label]: value for sample, got, value in self.samples if sample == name}


def scrape(heard: Heard) -> Scrape:
    with urllib.request.urlopen(f"http://127.0.0.1:{heard.port}/metrics", timeout=5) as answer:
        assert answer.status == 200
        assert answer.headers["Content-Type"].startswith("text/plain; version=")  # the exposition format
        text = answer.read().decode()
    samples: list[tuple[str, dict[str, str], float]] = []
    families: dict[str, str] = {}
    for family in text_string_to_metric_families(text):
        families[family.name] = family.type
        samples += [(sample.name, dict(sample.labels), sample.value) for sample in family.samples]
    return Scrape(samples, families)


def scrape_until(heard: Heard, condition: Callable[[Scrape], bool], timeout: float = 8.0) -> Scrape:
    """Database gauges are cached for two seconds: scrape until they (or counters bumped by a worker) show it."""
    deadline = time.monotonic() + timeout
    while True:
        seen = scrape(heard)
        if condition(seen):
            return seen
        if time.monotonic() > deadline:
            raise AssertionError(f"/metrics never showed it; last scrape: {seen.samples}")
        time.sleep(0.2)


def is_breach(call: Call) -> bool:
    return call.method == "chat.postMessage" and "Not acknowledged in time" in visible_text(call.args)


def test_a_complaint_acknowledged_and_one_left_to_breach_are_counted(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    heard = start_heard(
        ACK_WINDOW="4s", NAG_BEFORE="2s", BREACH_REPEATS="0", HEARD_MANAGERS=BOSS, HEARD_THREAD_LOG="off"
    )
    base = f"http://127.0.0.1:{heard.port}"
    team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    customer = Ingester(f"{base}/ingest", INGEST_SECRET)

    first = customer.complain(source="facebook", id="fb-1", created_at=None)
    assert customer.complain(source="facebook", id="fb-1", created_at=None).body["duplicate"] is True
    team.acknowledge(ANA, on=team.card(0))
    customer.complain(source="trustpilot", id="tp-1", created_at=None)
    fake_slack.wait_for("chat.postMessage", where=is_breach, timeout=10)

    seen = scrape(heard)
    assert first.status == 202
    assert seen.labelled("heard_complaints_received_total", "source") == {"facebook": 1, "trustpilot": 1}
    assert seen.labelled("heard_complaints_acknowledged_total", "source") == {"facebook": 1}
    assert seen.value("heard_complaints_breached_total", source="trustpilot", clock="acknowledge") == 1
    assert seen.value("heard_complaints_breached_total", source="facebook", clock="acknowledge") is None
    assert seen.families["heard_time_to_acknowledge_seconds"] == "histogram"
    assert seen.value("heard_time_to_acknowledge_seconds_count") == 1
    assert 0 < (seen.value("heard_time_to_acknowledge_seconds_sum") or 0) < 4
    within_window = seen.labelled("heard_time_to_acknowledge_seconds_bucket", "le")
    assert within_window["4.0"] == 1  # ACK_WINDOW is a bucket boundary
    assert (seen.value("heard_nag_lateness_seconds_count") or 0) >= 1  # trustpilot's nag, perhaps facebook's too
    assert seen.value("heard_database_up") == 1
    settled = scrape_until(heard, lambda s: not any(s.labelled("heard_outbox_depth", "kind").values()))
    assert settled.labelled("heard_outbox_oldest_waiting_seconds", "kind")[CARD] == 0
    assert settled.value("heard_slack_api_errors_total", method="chat.postMessage", status="500", error="") is None


def test_resolving_a_complaint_nobody_acknowledged_counts_its_acknowledgement_once(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    # Resolve is one of the card's own buttons, written with Core statements that no flush event sees.
    heard = start_heard(HEARD_THREAD_LOG="off")
    base = f"http://127.0.0.1:{heard.port}"
    team = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    Ingester(f"{base}/ingest", INGEST_SECRET).complain(source="facebook", id="fb-1", created_at=None)

    for note in ("Refund sent", "Refund sent again"):  # resolved, reopened, resolved: acknowledged the first time
        answer = team.fill(ANA, "Resolve", {"Resolution note": note}, on=team.card(0))
        assert answer.status == 200 and answer.outcome == "closed", answer.body
        resolved = team.card_shows(note)
        if note == "Refund sent":
            team.click(ANA, "Reopen", on=resolved)
            team.card_shows("Reassign")  # open again

    seen = scrape(heard)
    assert seen.labelled("heard_complaints_acknowledged_total", "source") == {"facebook": 1}
    assert seen.value("heard_time_to_acknowledge_seconds_count") == 1


def test_a_card_slack_refuses_waits_in_the_outbox_and_each_failure_is_counted(
    heard: Heard, customer: Ingester, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", status=500)
    fake_slack.fail_next("chat.postMessage", error="not_in_channel")

    customer.complain()
    fake_slack.wait_for("chat.postMessage", where=lambda call: call.status == 500)

    waiting = scrape_until(
        heard, lambda s: s.value("heard_slack_api_errors_total", method="chat.postMessage", status="500", error="") == 1
    )
    assert waiting.value("heard_outbox_depth", kind=CARD) == 1
    assert (waiting.value("heard_outbox_oldest_waiting_seconds", kind=CARD) or 0) >= 0
    fake_slack.wait_for("chat.postMessage", count=3, timeout=15)
    delivered = scrape_until(heard, lambda s: s.value("heard_outbox_depth", kind=CARD) == 0)
    assert (
        delivered.value("heard_slack_api_errors_total", method="chat.postMessage", status="200", error="not_in_channel")
        == 1
    )
    assert delivered.value("heard_outbox_oldest_waiting_seconds", kind=CARD) == 0
    assert delivered.labelled("heard_complaints_received_total", "source") == {"facebook": 1}


def test_each_copy_counts_what_it_did_and_reads_the_same_outbox(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack
) -> None:
    one, two = start_heard(), start_heard()
    fake_slack.fail_next("chat.postMessage", status=500, times=50)  # the card stays in the shared outbox

    Ingester(f"http://127.0.0.1:{one.port}/ingest", INGEST_SECRET).complain(source="instagram")

    for copy in (one, two):
        scrape_until(copy, lambda s: s.value("heard_outbox_depth", kind=CARD) == 1)
    assert scrape(one).labelled("heard_complaints_received_total", "source") == {"instagram": 1}
    assert scrape(two).labelled("heard_complaints_received_total", "source") == {}


def test_only_get_reads_the_metrics(heard: Heard) -> None:
    request = urllib.request.Request(f"http://127.0.0.1:{heard.port}/metrics", data=b"", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 405


@pytest.fixture
def x_api() -> Iterator[FakeX]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield FakeX(mock)


def test_a_failing_x_feed_shows_as_down_with_the_status_x_answered(
    start_heard: Callable[..., Heard], x_api: FakeX
) -> None:
    x_api.fail("mentions", 503)
    heard = start_heard(
        X_BEARER_TOKEN="AAAA-test-bearer-token", X_USER_ID=BRAND_ID, X_QUERY="acme", X_POLL_INTERVAL="1h"
    )
    poller = heard.listener("x-poll")
    assert poller is not None and poller.wait_for_polls(1)  # the start-up poll

    failing = scrape_until(heard, lambda s: s.labelled("heard_poller_up", "feed") == {"mentions": 0, "search": 1})
    assert failing.value("heard_platform_api_errors_total", platform="x", status="503") == 1
    assert failing.value("heard_poller_last_success_timestamp_seconds", feed="mentions") is None
    assert abs((failing.value("heard_poller_last_success_timestamp_seconds", feed="search") or 0) - time.time()) < 30

    later = datetime.now(UTC) + timedelta(hours=2)  # past the feed's back-off, when X answers again
    poller.clock = lambda: later  # type: ignore[attr-defined]
    poller.poll()
    scrape_until(heard, lambda s: s.labelled("heard_poller_up", "feed") == {"mentions": 1, "search": 1})


def test_a_graph_api_failure_is_counted_and_the_backfill_shows_as_down(
    start_heard: Callable[..., Heard], fake_slack: FakeSlack, database: Database
) -> None:
    with running_graph() as graph:
        graph.fail_next(f"{PAGE_ID}/posts", "500")  # the start-up backfill's first call
        desk = start_desk(start_heard, graph, fake_slack, database, **meta_settings(graph, instagram=False))

        down = scrape_until(desk.heard, lambda s: s.value("heard_poller_up", feed="facebook:comments") == 0)
        assert down.value("heard_platform_api_errors_total", platform="facebook", status="500") == 1
        assert down.value("heard_platform_api_errors_total", platform="instagram", status="500") is None


def test_a_scrape_during_a_database_outage_still_answers_and_says_so(
    heard: Heard, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> Any:
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))

    monkeypatch.setattr(heard.database, "_sessions", unreachable)

    down = scrape(heard)
    assert down.value("heard_database_up") == 0
    assert down.labelled("heard_outbox_depth", "kind") == {}  # unknown, not zero
    monkeypatch.undo()
    assert scrape_until(heard, lambda s: s.value("heard_database_up") == 1).value("heard_outbox_depth", kind=CARD) == 0
