"""The app's Slack scopes: the fake Slack grants only what slack/manifest.yml asks for and refuses any other method
with Slack's own `missing_scope`, so a scope missing from the manifest fails the suite instead of a real workspace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app import Heard
from sandbox.fake_slack import DEFAULT_MANIFEST, METHOD_SCOPES, FakeSlack, manifest_bot_scopes
from sandbox.slack_driver import SlackDriver
from tests.care_team import CareTeam
from tests.conftest import BOT_TOKEN, CHANNEL, INGEST_SECRET, SIGNING_SECRET
from tests.support import Ingester

ROOT = Path(__file__).resolve().parent.parent
MANIFESTS = [ROOT / "slack" / "manifest.yml", ROOT / "slack" / "manifest-socket-mode.yml"]
# What Heard calls, and so must be granted: cards, updates and private answers (chat:write); looking for a message
# or file an unheard attempt may have posted (the history scopes); DMs (im:write); uploads of the digest chart, the
# CSV export and evidence, and deleting an erased author's evidence and access files (files:write); the agent's
# name in reply templates (users:read); user-group members (usergroups:read); and /complaints (commands). Heard
# changes no user group, so usergroups:write is not asked for.
HEARD_NEEDS = {
    "chat:write",
    "channels:history",
    "groups:history",
    "im:history",
    "im:write",
    "files:write",
    "users:read",
    "usergroups:read",
    "commands",
}


def manifest_without(tmp_path: Path, *scopes: str) -> Path:
    """slack/manifest.yml as someone who forgot `scopes` would have pasted it."""
    lines = DEFAULT_MANIFEST.read_text().splitlines()
    kept = [line for line in lines if line.split("#")[0].strip().removeprefix("- ").strip() not in scopes]
    assert len(kept) == len(lines) - len(scopes), "every scope to drop must be in the manifest"
    path = tmp_path / "manifest.yml"
    path.write_text("\n".join(kept) + "\n")
    return path


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda path: path.name)
def test_the_manifests_grant_what_heard_calls_and_nothing_more(manifest: Path) -> None:
    granted = manifest_bot_scopes(manifest)
    assert granted == set(yaml.safe_load(manifest.read_text())["oauth_config"]["scopes"]["bot"])
    assert granted == HEARD_NEEDS
    assert "usergroups:write" not in granted


def test_the_fake_slack_reads_the_http_manifest_by_default() -> None:
    assert MANIFESTS[0] == DEFAULT_MANIFEST
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        assert fake.scopes == manifest_bot_scopes(MANIFESTS[0])


def test_a_method_whose_scope_is_not_granted_is_refused_as_slack_does(tmp_path: Path) -> None:
    manifest = manifest_without(tmp_path, "files:write", "users:read")
    with FakeSlack(bot_token=BOT_TOKEN, manifest=manifest) as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)

        with pytest.raises(SlackApiError) as upload:
            client.files_getUploadURLExternal(filename="digest.png", length=10)
        with pytest.raises(SlackApiError) as name:
            client.users_info(user="U0ANA")
        posted = client.chat_postMessage(channel=CHANNEL, text="hello")  # chat:write is granted
        client.chat_getPermalink(channel=CHANNEL, message_ts=posted["ts"])  # needs no scope

    assert upload.value.response.status_code == 200  # Slack answers missing_scope with HTTP 200
    assert upload.value.response.data["error"] == "missing_scope"
    assert upload.value.response.data["needed"] == "files:write"
    provided = set(upload.value.response.data["provided"].split(","))
    assert provided == manifest_bot_scopes(manifest) and "files:write" not in provided
    assert (name.value.response.data["error"], name.value.response.data["needed"]) == ("missing_scope", "users:read")
    assert [call.error for call in fake.calls] == ["missing_scope", "missing_scope", None, None]
    assert len(fake.problems) == 2 and all("missing_scope" in problem for problem in fake.problems)


def test_history_needs_the_scope_of_the_conversations_kind(tmp_path: Path) -> None:
    manifest = manifest_without(tmp_path, "im:history")
    with FakeSlack(bot_token=BOT_TOKEN, manifest=manifest) as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        client.conversations_history(channel=CHANNEL)  # a channel: channels:history is granted
        dm = client.conversations_open(users="U0ANA")["channel"]["id"]
        with pytest.raises(SlackApiError) as in_dm:
            client.conversations_history(channel=dm)
    assert in_dm.value.response.data["needed"] == "im:history"


def test_every_method_the_fake_answers_has_its_scopes_written_down() -> None:
    """A method added to the fake must say which scopes Slack wants for it (an empty tuple: none)."""
    with FakeSlack(bot_token=BOT_TOKEN) as fake:
        answered = set(fake.methods)
    assert answered - {"apps.connections.open"} <= set(METHOD_SCOPES)


@pytest.fixture
def fake_slack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeSlack]:
    """This module's fake Slack: slack/manifest.yml, or (parametrized) that manifest without some scopes."""
    missing = getattr(request, "param", ())
    manifest = manifest_without(tmp_path, *missing) if missing else DEFAULT_MANIFEST
    fake = FakeSlack(bot_token=BOT_TOKEN, manifest=manifest).start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("fake_slack", [(), ("files:write",)], ids=["manifest", "without-files-write"], indirect=True)
def test_evidence_is_uploaded_only_with_files_write(start_heard: Callable[..., Heard], fake_slack: FakeSlack) -> None:
    heard = start_heard()
    base = f"http://127.0.0.1:{heard.port}"
    people = CareTeam(fake_slack, SlackDriver(f"{base}/slack/events", SIGNING_SECRET, fake_slack), CHANNEL)
    Ingester(f"{base}/ingest", INGEST_SECRET).complain(text="Your driver threatened me")
    people.click("U0ANA", "Claim")
    people.card_shows("Owner: <@U0ANA>")

    people.click("U0ANA", "Keep evidence")

    (first,) = fake_slack.wait_for("files.getUploadURLExternal")
    if "files:write" in fake_slack.scopes:
        fake_slack.wait_for("files.completeUploadExternal")
        assert len(fake_slack.files()) == 1
        assert fake_slack.problems == []
    else:
        assert first.status == 200 and first.error == "missing_scope"
        assert fake_slack.files(include_incomplete=True) == []
        assert fake_slack.problems and "files:write" in fake_slack.problems[0]
