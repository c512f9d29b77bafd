"""A reply's chart in Slack: a PNG uploaded (files.getUploadURLExternal, the upload,
files.completeUploadExternal) into the conversation the reply went to; for an ephemeral answer
(a slash command's response_url), into the user's DM with the coach instead; and by the
scheduler's SlackNotifier under the message it posts."""

from __future__ import annotations

import asyncio
import json

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.notifiers import SlackNotifier
from bot.settings import Settings
from bot.slack.app import SlackAdapter
from coaching.engine import Outcome
from bot.catalog import Catalog
from coaching.messages import msg
from coaching.model import Person, Role
from coaching.replies import Reply
from tests.slack.fake_api import Call, FakeSlackApi
from tests.slack.harness import SlackHarness
from tests.support import make_coach
from tests.system.test_charts import PNG_MAGIC, png_info, team_chart

UPLOAD_FLOW = ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def after_first(calls: list[Call], method: str) -> list[str]:
    """The methods called from the first call to ``method`` on."""
    names = [call.method for call in calls]
    return names[names.index(method):]


def uploaded(api: FakeSlackApi) -> tuple[Call, bytes, Call]:
    """(files.getUploadURLExternal, the bytes uploaded, files.completeUploadExternal) of the one upload."""
    [ask] = api.calls_to("files.getUploadURLExternal")
    [upload] = api.calls_to("upload")
    [complete] = api.calls_to("files.completeUploadExternal")
    assert upload.params["file_id"] == complete.params["files"][0]["id"]
    return ask, api.uploads[upload.params["file_id"]], complete


def assert_chart_upload(api: FakeSlackApi, channel: str, lang: str, catalog: Catalog, chart) -> None:
    ask, content, complete = uploaded(api)
    assert content.startswith(PNG_MAGIC) and 5_000 <= len(content) <= 28_000
    assert int(ask.params["length"]) == len(content)
    assert ask.params["filename"] == f"{chart.name}-{lang}.png" and "teamhealth-" in chart.name
    assert ask.params["alt_txt"] == catalog.render(msg("chart.alt"), lang)
    title = catalog.render(chart.title, lang)
    assert complete.params["channel_id"] == channel and complete.params["files"][0]["title"] == title
    assert png_info(content)[1]["Title"] == title


@pytest.fixture
def adapter(database_url):
    coach = make_coach(database_url)
    settings = Settings(_env_file=None, DATABASE_URL=database_url, SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-test")
    return SlackAdapter(coach, settings)


def test_a_posted_reply_with_a_chart_uploads_it_into_the_same_conversation(adapter):
    chart = team_chart(3)
    reply = Reply.of("Team health: East", chart=chart)

    async def scenario() -> FakeSlackApi:
        async with FakeSlackApi() as api:
            client = AsyncWebClient(token="xoxb-test", base_url=f"{api.url}/api/")
            await adapter.post(client, "DUMIA", Outcome((reply, Reply.of("no chart here")), "ja-JP"))
            return api

    api = asyncio.run(scenario())
    assert [c.method for c in api.calls] == ["chat.postMessage", *UPLOAD_FLOW, "chat.postMessage"]
    assert_chart_upload(api, "DUMIA", "ja", adapter.coach.catalog, chart)


@pytest.mark.parametrize("channel", ["C1", "DUMIA", "DOTHERPERSON"])
def test_an_ephemeral_answer_sends_its_chart_to_the_users_dm_with_the_coach(adapter, channel):
    """A file cannot be ephemeral: the chart goes where only the asking user sees it, their DM
    with the coach (the one conversations.open gives), wherever the command was typed."""
    chart = team_chart(3)
    responses: list[dict] = []

    async def respond(**kwargs) -> None:
        responses.append(kwargs)

    async def scenario() -> FakeSlackApi:
        async with FakeSlackApi() as api:
            client = AsyncWebClient(token="xoxb-test", base_url=f"{api.url}/api/")
            await adapter.respond(respond, Outcome((Reply.of("Team health: East", chart=chart),), "en-GB"), client,
                                  "UMIA", channel)
            return api

    api = asyncio.run(scenario())
    # asked elsewhere than the DM with the coach: one more ephemeral line says where the chart went
    assert [r["response_type"] for r in responses] == ["ephemeral"] * (1 if channel == "DUMIA" else 2)
    if channel != "DUMIA":
        assert "The chart is in our direct message" in responses[1]["text"]
    assert [c.method for c in api.calls] == ["conversations.open", *UPLOAD_FLOW]
    assert api.calls[0].params["users"] == "UMIA"
    assert_chart_upload(api, "DUMIA", "en", adapter.coach.catalog, chart)


def test_a_failed_upload_leaves_the_answer_standing(adapter):
    async def scenario() -> FakeSlackApi:
        async with FakeSlackApi() as api:
            api.fail_next("files.completeUploadExternal", status=500, times=10)
            client = AsyncWebClient(token="xoxb-test", base_url=f"{api.url}/api/")
            await adapter.post(client, "DUMIA", Outcome((Reply.of("Team health: East", chart=team_chart(2)),), "en"))
            return api

    api = asyncio.run(scenario())
    assert len(api.calls_to("chat.postMessage")) == 1 and api.calls_to("files.completeUploadExternal")


def test_the_notifier_uploads_the_chart_under_the_digest():
    """The weekly team health goes out through SlackNotifier (a sync client, in the scheduler)."""
    chart = team_chart(3)
    mia = Person(3, "acme", "mia@acme.example", "Mia Jones", Role.MANAGER, (1,), locale="ja", slack_user_id="UMIA")
    with FakeSlackApi().started_in_thread() as api:
        notifier = SlackNotifier(Catalog(), "xoxb-test", f"{api.url}/api/")
        assert notifier.send(mia, Reply.of("Team health: East", chart=chart)) == "slack"
        assert notifier.send_channel("CTEAM", Reply.of("Team health: East"), "en") == "slack"  # no chart, no upload
    assert [c.method for c in api.calls] == ["conversations.open", "chat.postMessage", *UPLOAD_FLOW, "chat.postMessage"]
    assert_chart_upload(api, "DUMIA", "ja", Catalog(), chart)


def test_the_notifier_counts_the_message_delivered_when_only_the_chart_fails():
    """Saying it again on another platform would repeat the text; the failure is logged."""
    mia = Person(3, "acme", "mia@acme.example", "Mia Jones", Role.MANAGER, (1,), slack_user_id="UMIA")
    with FakeSlackApi().started_in_thread() as api:
        api.fail_next("files.getUploadURLExternal", status=500, times=10)
        notifier = SlackNotifier(Catalog(), "xoxb-test", f"{api.url}/api/")
        assert notifier.send(mia, Reply.of("Team health: East", chart=team_chart(2))) == "slack"
    assert len(api.calls_to("chat.postMessage")) == 1 and api.calls_to("upload") == []


# --- end to end: /teamhealth from a manager ------------------------------------------------------
# These need coaching/health.py to put a Chart on the /teamhealth reply.


@pytest.fixture
def slack(database_url):
    with FakeSlackApi().started_in_thread() as api:
        with SlackHarness(database_url, api).running() as harness:
            yield harness


@pytest.mark.parametrize("channel", ["C1", "DUMIA"])
def test_teamhealth_from_a_manager_comes_with_its_chart_in_their_dm(slack, channel):
    slack.command("/teamhealth", "", "UMIA", channel)
    [answer] = slack.api.wait_for_sync("response_url", 1)
    assert "Team health: East" in json.dumps(answer.params) and answer.params["response_type"] == "ephemeral"
    slack.api.wait_for_sync("files.completeUploadExternal", 1, timeout=20)
    # the note in the channel (a response_url post) may land as soon as the upload completes
    flow = [m for m in after_first(slack.api.calls, "conversations.open") if m != "response_url"]
    assert flow == ["conversations.open", *UPLOAD_FLOW]
    ask, content, complete = uploaded(slack.api)
    assert content.startswith(PNG_MAGIC) and int(ask.params["length"]) == len(content)
    assert complete.params["channel_id"] == "DUMIA"  # Mia's DM with the coach (the fake's conversations.open)
    assert ask.params["filename"].endswith("-en.png") and ask.params["alt_txt"]
    title = png_info(content)[1]["Title"]
    assert title.startswith("East") and complete.params["files"][0]["title"] == title
    if channel != "DUMIA":  # asked in a channel: a word there says where the picture went
        [_, note] = slack.api.wait_for_sync("response_url", 2)
        assert "The chart is in our direct message" in note.params["text"]
    else:
        assert len(slack.api.calls_to("response_url")) == 1
