"""The Graph API client against the fake Graph over loopback: cursors, errors classified into what to do next,
timeouts as unsure, and the Page token, its proof and the app secret never in a URL, an error or a log line."""

from __future__ import annotations

import json
import logging
import socket
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import responses

from bot.platforms.meta.graph import GraphClient, GraphError, appsecret_proof
from sandbox.fake_graph import FakeGraph

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "meta"
TIMEOUT = 0.5


@pytest.fixture
def graph() -> Iterator[FakeGraph]:
    with FakeGraph(hang_seconds=3.0) as fake:
        yield fake


@pytest.fixture
def client(graph: FakeGraph) -> GraphClient:
    return GraphClient(graph.graph_url, graph.token, graph.app_secret, TIMEOUT)


def secrets_of(graph: FakeGraph) -> list[str]:
    assert graph.app_secret
    return [graph.token, graph.app_secret, appsecret_proof(graph.token, graph.app_secret)]


def assert_clean(error: GraphError, secrets: list[str]) -> None:
    told = [str(error), repr(error), error.message, "".join(traceback.format_exception(error))]
    for text in told:
        for secret in secrets:
            assert secret not in text
    # Raised outside the except block: no chained requests exception (whose text holds the URL).
    assert error.__cause__ is None and error.__context__ is None


def a_post_with_comments(graph: FakeGraph, count: int) -> tuple[dict, list[dict]]:
    post = graph.add_post("Our new store is open")
    start = datetime.now(UTC) - timedelta(hours=count)
    comments = [
        graph.add_comment(
            post["id"], f"55500{n}", f"Person {n}", f"comment {n}", created_time=start + timedelta(hours=n)
        )
        for n in range(count)
    ]
    return post, comments


# -- reading ---------------------------------------------------------------------------------------------------------


def test_the_token_travels_in_the_header_and_the_proof_in_the_query(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)

    body = client.get(comment["id"], {"fields": "id,message,from{id,name},is_hidden"})

    assert body == {
        "id": comment["id"],
        "message": "comment 0",
        "from": {"id": "555000", "name": "Person 0"},
        "is_hidden": False,
    }
    (call,) = graph.calls("GET")
    assert "access_token" not in call.query
    assert graph.token not in json.dumps(call.query)
    assert call.query["appsecret_proof"] == appsecret_proof(graph.token, graph.app_secret or "")


def test_pages_follow_the_after_cursor_and_stop_without_next(graph: FakeGraph, client: GraphClient) -> None:
    post, comments = a_post_with_comments(graph, 5)

    pages = list(client.paged(f"{post['id']}/comments", {"limit": 2, "fields": "id,message"}))

    assert [[item["id"] for item in data] for data, _ in pages] == [
        [c["id"] for c in comments[0:2]],
        [c["id"] for c in comments[2:4]],
        [comments[4]["id"]],
    ]
    assert pages[0][1] and pages[1][1] and pages[2][1] is None
    # Meta's `next` links carry the access token: the client resumes with the cursor and never follows them.
    assert all("access_token" not in call.query for call in graph.calls())
    assert [call.query.get("after") for call in graph.calls()] == [None, pages[0][1], pages[1][1]]


def test_a_listing_resumes_from_a_saved_cursor(graph: FakeGraph, client: GraphClient) -> None:
    post, comments = a_post_with_comments(graph, 5)
    _, cursor = client.next_page(f"{post['id']}/comments", {"limit": 3})

    rest = [
        item["id"] for data, _ in client.paged(f"{post['id']}/comments", {"limit": 3, "after": cursor}) for item in data
    ]
    again, _ = client.next_page(f"{post['id']}/comments", {"limit": 3}, after=cursor)

    assert rest == [c["id"] for c in comments[3:]]
    assert [item["id"] for item in again] == rest


def test_stream_filter_lists_replies_and_order_is_honoured(graph: FakeGraph, client: GraphClient) -> None:
    post, (first, second) = a_post_with_comments(graph, 2)
    reply = graph.add_comment(post["id"], "555009", "Replier", "me too", parent_id=first["id"])

    top_level, _ = client.next_page(f"{post['id']}/comments")
    stream, _ = client.next_page(
        f"{post['id']}/comments", {"filter": "stream", "order": "reverse_chronological", "fields": "id,parent{id}"}
    )

    assert [item["id"] for item in top_level] == [first["id"], second["id"]]
    assert [item["id"] for item in stream] == [reply["id"], second["id"], first["id"]]
    assert stream[0]["parent"] == {"id": first["id"]}


def test_an_unknown_field_is_refused_as_graph_does(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)

    with pytest.raises(GraphError) as raised:
        client.get(comment["id"], {"fields": "id,text"})

    assert raised.value.kind == "refused" and raised.value.code == 100
    assert "nonexisting field (text)" in str(raised.value)


# -- writing ---------------------------------------------------------------------------------------------------------


def test_reply_hide_and_private_reply_reach_the_customers_thread(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)

    reply = client.post(f"{comment['id']}/comments", {"message": "Sorry, we're on it"})
    hidden = client.post(comment["id"], {"is_hidden": True})
    private = client.post(
        f"{graph.page_id}/messages", {"recipient": {"comment_id": comment["id"]}, "message": {"text": "Details?"}}
    )

    thread = graph.thread(comment["id"])
    assert hidden == {"success": True} and thread["hidden"] is True
    assert [(r["id"], r["message"], r["from"]["id"]) for r in thread["replies"]] == [
        (reply["id"], "Sorry, we're on it", graph.page_id)
    ]
    assert set(private) == {"recipient_id", "message_id"}
    (sent,) = graph.private_replies()
    assert sent["comment_id"] == comment["id"] and sent["text"] == "Details?"
    # The Send API takes JSON objects; replies and hiding are form posts.
    assert graph.calls("POST", "/messages")[0].params["recipient"] == {"comment_id": comment["id"]}
    assert graph.calls("POST")[1].params["is_hidden"] == "true"


def test_a_second_private_reply_and_an_old_comment_are_refused_in_words(graph: FakeGraph, client: GraphClient) -> None:
    post, (comment,) = a_post_with_comments(graph, 1)
    old = graph.add_comment(
        post["id"], "555777", "Old", "last week", created_time=datetime.now(UTC) - timedelta(days=8)
    )
    send = {"message": {"text": "Can we talk?"}}
    client.post(f"{graph.page_id}/messages", {"recipient": {"comment_id": comment["id"]}, **send})

    with pytest.raises(GraphError) as twice:
        client.post(f"{graph.page_id}/messages", {"recipient": {"comment_id": comment["id"]}, **send})
    with pytest.raises(GraphError) as late:
        client.post(f"{graph.page_id}/messages", {"recipient": {"comment_id": old["id"]}, **send})

    assert twice.value.kind == "refused" and twice.value.already_replied
    assert "already has one" in str(twice.value)
    # Code 10 / 2018278 is a closed window, not a missing permission.
    assert late.value.kind == "refused" and late.value.outside_window and late.value.permission is None
    assert "window has closed" in str(late.value)
    assert len(graph.private_replies()) == 1


def test_instagram_reply_hide_and_mention_lookup(graph: FakeGraph) -> None:
    client = GraphClient(graph.graph_url, graph.token, graph.app_secret, TIMEOUT, label="Instagram")
    media = graph.add_ig_media("Summer drop")
    comment = graph.add_ig_comment(media["id"], "178000001", "dana.r", "Where is my parcel?")

    reply = client.post(f"{comment['id']}/replies", {"message": "@dana.r checking now"})
    client.post(comment["id"], {"hide": True})
    listed, _ = client.next_page(f"{media['id']}/comments", {"fields": "id,text,username,hidden"})
    mention = client.get(
        graph.instagram_account_id, {"fields": f"mentioned_comment.comment_id({comment['id']}){{id,text,username}}"}
    )

    thread = graph.thread(comment["id"])
    assert thread["hidden"] is True and thread["replies"][0]["id"] == reply["id"]
    assert listed == [{"id": comment["id"], "text": "Where is my parcel?", "username": "dana.r", "hidden": True}]
    assert mention["mentioned_comment"] == {"id": comment["id"], "text": "Where is my parcel?", "username": "dana.r"}


# -- errors ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "kind", "words"),
    [
        ("500", "unsure", "may or may not have been done"),
        ("rate_limit", "rate_limit", "Facebook's rate limit is reached; Heard tries again in about 5 minutes"),
        ("rate_limit_buc", "rate_limit", "Facebook's rate limit is reached; Heard tries again in about 7 minutes"),
        ("permission", "permission", "Facebook needs the pages_manage_engagement permission for this"),
        ("token", "token", "Facebook refused the Page token (expired or revoked): set a new META_PAGE_TOKEN"),
    ],
)
def test_failures_are_classified_and_said_in_words(
    graph: FakeGraph, client: GraphClient, fault: str, kind: str, words: str
) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)
    graph.fail_next("/comments", fault)

    with pytest.raises(GraphError) as raised:
        client.post(f"{comment['id']}/comments", {"message": "hello"})

    assert raised.value.kind == kind
    assert words in str(raised.value)
    assert graph.thread(comment["id"])["replies"] == []  # nothing was done
    assert_clean(raised.value, secrets_of(graph))


def test_rate_limit_waits_follow_the_usage_headers(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)
    graph.fail_next(comment["id"], "rate_limit_buc")

    with pytest.raises(GraphError) as raised:
        client.get(comment["id"])

    assert raised.value.retry_after == 7 * 60
    assert raised.value.code == 80001
    assert client.usage["business"][graph.page_id][0]["estimated_time_to_regain_access"] == 7


def test_an_expired_token_fails_every_call_until_a_new_one(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)
    graph.expire_token()

    with pytest.raises(GraphError) as raised:
        client.get(comment["id"])
    graph.set_token("a-brand-new-page-token-42")
    with pytest.raises(GraphError) as old:
        client.get(comment["id"])
    renewed = GraphClient(graph.graph_url, graph.token, graph.app_secret, TIMEOUT)

    assert (raised.value.kind, raised.value.code, raised.value.subcode) == ("token", 190, 463)
    assert old.value.kind == "token"
    assert renewed.get(comment["id"])["id"] == comment["id"]


def test_a_wrong_proof_is_refused(graph: FakeGraph) -> None:
    client = GraphClient(graph.graph_url, graph.token, "not-the-app-secret-at-all", TIMEOUT)

    with pytest.raises(GraphError) as raised:
        client.get(graph.page_id)

    assert raised.value.kind == "refused" and "appsecret_proof" in raised.value.message


def test_an_unknown_object_is_refused_not_a_permission(graph: FakeGraph, client: GraphClient) -> None:
    with pytest.raises(GraphError) as raised:
        client.get("123456789_987654321")

    # Meta's text for a missing object mentions "missing permissions", but no permission is named.
    assert (raised.value.kind, raised.value.code, raised.value.subcode) == ("refused", 100, 33)


def test_a_timeout_after_the_work_is_unsure(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)
    graph.fail_next("/comments", "timeout_after_doing")

    with pytest.raises(GraphError) as raised:
        client.post(f"{comment['id']}/comments", {"message": "Sorry!"})

    assert (raised.value.kind, raised.value.reason) == ("unsure", "timeout")
    assert "did not answer in time: it may or may not have been done" in str(raised.value)
    assert [r["message"] for r in graph.thread(comment["id"])["replies"]] == ["Sorry!"]  # it was done
    assert_clean(raised.value, secrets_of(graph))


def test_a_dropped_connection_after_the_work_is_unsure(graph: FakeGraph, client: GraphClient) -> None:
    _, (comment,) = a_post_with_comments(graph, 1)
    graph.fail_next(comment["id"], "drop_after_doing")

    with pytest.raises(GraphError) as raised:
        client.post(comment["id"], {"is_hidden": True})

    assert (raised.value.kind, raised.value.reason) == ("unsure", "connection")
    assert graph.thread(comment["id"])["hidden"] is True
    assert_clean(raised.value, secrets_of(graph))


def test_nothing_listening_is_unsure_and_names_no_secret() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = GraphClient(
        f"http://127.0.0.1:{port}/v23.0/", "page-token-abcdef-123456", "app-secret-0123456789abcdef", 1
    )

    with pytest.raises(GraphError) as raised:
        client.get("1000", {"fields": "id"})

    assert (raised.value.kind, raised.value.reason) == ("unsure", "connection")
    proof = appsecret_proof("page-token-abcdef-123456", "app-secret-0123456789abcdef")
    assert_clean(raised.value, ["page-token-abcdef-123456", "app-secret-0123456789abcdef", proof])


def test_no_secret_reaches_a_log_record_even_at_debug(
    graph: FakeGraph, client: GraphClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    post, _ = a_post_with_comments(graph, 3)
    list(client.paged(f"{post['id']}/comments", {"limit": 1}))
    graph.fail_next("/comments", "token")
    with pytest.raises(GraphError):
        client.get(f"{post['id']}/comments")
    graph.fail_next("/comments", "timeout_after_doing")
    with pytest.raises(GraphError):
        client.get(f"{post['id']}/comments")

    assert any(record.name.startswith("urllib3") for record in caplog.records)  # urllib3 did log the requests
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets_of(graph):
        assert secret not in logged


def test_base_url_needs_its_trailing_slash() -> None:
    with pytest.raises(ValueError, match="must end with '/'"):
        GraphClient("https://graph.facebook.com/v23.0", "token", None, 5)


# -- recorded error bodies (no server of Meta's needed) ----------------------------------------------------------------

BASE = "https://graph.example.test/v23.0/"
TOKEN = "EAAGpagetoken0123456789"
SECRET = "0123456789abcdef0123456789abcdef"


def recorded(name: str) -> dict:
    path = FIXTURES / "facebook" / name
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    return json.loads(path.read_text())


@responses.activate
def test_recorded_missing_permission_names_the_permission() -> None:
    responses.get(BASE + "123", json=recorded("error-100-missing-permission.json"), status=400)

    with pytest.raises(GraphError) as raised:
        GraphClient(BASE, TOKEN, SECRET, 5).get("123")

    assert (raised.value.kind, raised.value.permission) == ("permission", "pages_read_engagement")
    assert str(raised.value) == "Facebook needs the pages_read_engagement permission for this"
    assert raised.value.trace_id == "AQt_hJ68vFybS4TnupatNtX"
    assert len(raised.value.message) <= 300


@responses.activate
def test_recorded_proof_required_is_a_refusal() -> None:
    responses.get(BASE + "123", json=recorded("error-100-appsecret-proof-required.json"), status=400)

    with pytest.raises(GraphError) as raised:
        GraphClient(BASE, TOKEN, None, 5).get("123")

    assert raised.value.kind == "refused"
    assert "app secret proof" in str(raised.value)


@responses.activate
def test_a_message_that_quotes_the_token_is_scrubbed() -> None:
    body = {"error": {"message": f"Malformed access token {TOKEN}", "type": "OAuthException", "code": 100}}
    responses.get(BASE + "123", json=body, status=400)

    with pytest.raises(GraphError) as raised:
        GraphClient(BASE, TOKEN, SECRET, 5).get("123")

    assert_clean(raised.value, [TOKEN, SECRET, appsecret_proof(TOKEN, SECRET)])
    assert "[redacted]" in raised.value.message


@responses.activate
def test_http_429_without_a_body_is_a_rate_limit_and_502_is_unsure() -> None:
    responses.get(BASE + "a", body="slow down", status=429, headers={"Retry-After": "120"})
    responses.get(BASE + "b", body="<html>bad gateway</html>", status=502)
    client = GraphClient(BASE, TOKEN, SECRET, 5)

    with pytest.raises(GraphError) as limited:
        client.get("a")
    with pytest.raises(GraphError) as gateway:
        client.get("b")

    assert (limited.value.kind, limited.value.retry_after) == ("rate_limit", 120.0)
    assert (gateway.value.kind, gateway.value.status) == ("unsure", 502)
    assert "server error (HTTP 502)" in str(gateway.value)


@responses.activate
def test_a_read_timeout_is_unsure() -> None:
    responses.post(BASE + "1_2/comments", body=requests.exceptions.ReadTimeout("read timed out"))

    with pytest.raises(GraphError) as raised:
        GraphClient(BASE, TOKEN, SECRET, 5).post("1_2/comments", {"message": "hi"})

    assert (raised.value.kind, raised.value.reason) == ("unsure", "timeout")


def test_an_app_that_requires_the_proof_refuses_calls_without_it() -> None:
    with FakeGraph(require_proof=True) as strict:
        without = GraphClient(strict.graph_url, strict.token, None, TIMEOUT)
        with_proof = GraphClient(strict.graph_url, strict.token, strict.app_secret, TIMEOUT)

        with pytest.raises(GraphError) as raised:
            without.get(strict.page_id)

        assert raised.value.kind == "refused" and "appsecret_proof" in str(raised.value)
        assert with_proof.get(strict.page_id) == {"name": "Acme", "id": strict.page_id}
