"""/chat with conversations kept on the server, in a real browser at 360, 390 and 1280 px: a
conversation survives a reload and opens on another device, a stopped reply stays, the balance
in view drops by each reply's charge, markdown is rendered and nothing in it runs, images and
tool calls are shown, rename and delete. Screenshots go to the test's tmp dir."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.models.conversations import Conversation, ConversationMessage
from app.models.jobs import Job
from app.services import ledger
from tests.factories import create_job, create_turn
from tests.pages.conftest import Session

WIDTHS = {"narrow": 360, "phone": 390, "desktop": 1280}
FUNDS = 5_000_000  # the pages' `user` fixture
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Bw"
       "HwAFAAH/iZk9HQAAAABJRU5ErkJggg==")
SHOWN = re.compile(r"(^|\s)show(\s|$)")
HOSTILE = "**Ledgers** keep <img src=x onerror=window.pwned=1> everything"


class ChatSession(Session):
    """A signed-in browser at one width whose screenshots go to the test's tmp dir."""

    def __init__(self, browser, base: str, width: int, tag: str, shots: Path) -> None:
        super().__init__(browser, base, width, tag)
        self.shots = shots

    def shot(self, name: str, *, full_page: bool = True) -> None:
        """`full_page=False` for the off-canvas list: a fixed panel is not drawn reliably when
        the page is captured at its full height."""
        self.page.screenshot(path=str(self.shots / f"{name}-{self.tag}.png"),
                             full_page=full_page)

    def send(self, text: str, *, max_tokens: int = 40) -> None:
        page = self.page
        expect(page.locator("#model option[value=local-echo]")).to_have_count(1)
        page.select_option("#model", "local-echo")
        page.fill("#max-tokens", str(max_tokens))
        page.fill("#prompt", text)
        page.click("#send")

    def open_list(self) -> None:
        """The conversation list: off-canvas below 992 px, beside the chat above."""
        if self.width < 992:
            self.page.click("#show-conversations")
            # slid in: `show` once its transition ends (`showing` while it runs)
            expect(self.page.locator("#conversations-panel")).to_have_class(SHOWN)


@pytest.fixture(params=list(WIDTHS))
def chat(request, browser, live_server, user, tmp_path) -> Iterator[ChatSession]:
    tag = request.param
    session = ChatSession(browser, live_server, WIDTHS[tag], tag, tmp_path)
    session.sign_in(user.email)
    yield session
    session.context.close()


def last_job() -> Job:
    return Job.select().order_by(Job.created_at.desc()).get()


def wait_settled(page: Page, index: int, outcome: str = "Done") -> None:
    expect(page.locator(".chat-assistant .chat-meta").nth(index)).to_contain_text(
        outcome, timeout=20_000)
    expect(page.locator("#conversation")).to_have_attribute("aria-busy", "false")


def test_a_conversation_survives_a_reload_and_opens_on_another_device(chat, browser,
                                                                      live_server, user,
                                                                      app) -> None:
    page = chat.go("/chat")
    expect(page.locator("#balance-value")).to_have_text(f"{FUNDS:,}")
    chat.send(HOSTILE)
    wait_settled(page, 0)
    first = last_job()
    assert first.source == "conversation" and first.status == "succeeded"

    # The balance in view drops by the reply's charge, as the ledger says.
    with app.app_context():
        owned = ledger.get_balance(user.id)
    assert owned.balance == FUNDS - first.cost_credits and owned.held == 0
    expect(page.locator("#balance-value")).to_have_text(f"{owned.balance:,}")
    expect(page.locator("#balance-available")).to_have_text(f"{owned.available:,}")

    # Markdown is rendered and sanitized: bold shows, the echoed <img onerror> is only text.
    reply = page.locator(".chat-assistant .chat-text").first
    expect(reply.locator("strong")).to_have_text("Ledgers")
    expect(reply).to_contain_text("<img src=x onerror=window.pwned=1>")
    expect(page.locator("#conversation img")).to_have_count(0)
    assert page.evaluate("window.pwned") is None
    meta = page.locator(".chat-assistant .chat-meta").first
    expect(meta).to_contain_text(f"{first.input_tokens} in / {first.output_tokens} out tokens · "
                                 f"charged {first.cost_credits:,} credit")
    expect(meta.locator("a")).to_have_attribute("href", f"/api/jobs/{first.id}")

    chat.send("And again")
    wait_settled(page, 1)
    second = last_job()
    expect(page.locator("#balance-value")).to_have_text(
        f"{FUNDS - first.cost_credits - second.cost_credits:,}")
    conversation = Conversation.get()
    assert page.url.endswith(f"/chat?conversation={conversation.id}")
    chat.assert_fits()
    chat.shot("chat-two-turns")

    # A reload shows the same conversation, each reply with its job, tokens and charge.
    page.reload()
    expect(page.locator(".chat-msg")).to_have_count(4)
    expect(page.locator("#conversation-title")).to_have_text(conversation.title)
    metas = page.locator(".chat-assistant .chat-meta")
    for index, job in enumerate((first, second)):
        expect(metas.nth(index)).to_contain_text(
            f"Done · {job.input_tokens} in / {job.output_tokens} out tokens · charged "
            f"{job.cost_credits:,} credit")
    expect(page.locator(".chat-assistant .chat-text strong")).to_have_text("Ledgers")
    chat.assert_fits()
    chat.shot("chat-reloaded")

    # Another device (a new browser context, signed in afresh) opens it from the list.
    other = ChatSession(browser, live_server, chat.width, chat.tag, chat.shots)
    other.sign_in(user.email)
    other_page = other.go("/chat")
    other.open_list()
    other.shot("chat-list", full_page=False)
    item = other_page.locator("#conversation-list button", has_text=conversation.title)
    expect(item).to_have_count(1)
    item.click()
    expect(other_page.locator("#conversations-panel")).to_be_visible(
        visible=chat.width >= 992)  # the off-canvas list closes once one is chosen
    expect(other_page.locator(".chat-msg")).to_have_count(4)
    expect(other_page.locator(".chat-user .chat-text").nth(1)).to_have_text("And again")
    other.assert_fits()
    assert chat.errors == [] and other.errors == []
    other.context.close()


def test_a_stopped_reply_stays_after_a_reload(chat) -> None:
    page = chat.go("/chat")
    chat.send("Tell me a long story " * 8, max_tokens=200)
    expect(page.locator(".chat-assistant .chat-text").last).to_contain_text("You said",
                                                                            timeout=20_000)
    page.click("#stop")
    wait_settled(page, 0, "Stopped")
    job = last_job()
    assert job.status == "canceled" and 0 < job.output_tokens < 60
    expect(page.locator("#balance-value")).to_have_text(f"{FUNDS - job.cost_credits:,}")

    page.reload()
    reply = page.locator(".chat-assistant")
    expect(reply.locator(".chat-meta")).to_contain_text(
        f"Stopped · {job.input_tokens} in / {job.output_tokens} out tokens · charged "
        f"{job.cost_credits:,} credit")
    assert reply.locator(".chat-text").inner_text() == job.result_text
    message = ConversationMessage.get(ConversationMessage.role == "assistant")
    assert (message.status, message.content) == ("canceled", job.result_text)
    chat.assert_fits()
    chat.shot("chat-stopped")
    assert chat.errors == []


@pytest.mark.parametrize("chat", ["narrow"], indirect=True)
def test_rename_delete_and_a_new_conversation(chat) -> None:
    page = chat.go("/chat")
    chat.send("First topic")
    wait_settled(page, 0)
    page.click("#new-chat")
    expect(page.locator(".chat-msg")).to_have_count(0)
    expect(page.locator("#conversation-title")).to_have_text("New conversation")
    chat.send("Second topic")
    wait_settled(page, 0)
    second = Conversation.get(Conversation.title == "Second topic")

    page.click("#rename")
    page.fill("#rename-input", "  Renamed   topic ")
    page.click("#rename-form button[type=submit]")
    expect(page.locator("#conversation-title")).to_have_text("Renamed topic")
    assert Conversation.get_by_id(second.id).title == "Renamed topic"
    chat.open_list()
    titles = page.locator("#conversation-list button .text-truncate")
    expect(titles).to_have_text(["Renamed topic", "First topic"])
    chat.shot("chat-renamed-list", full_page=False)
    page.locator("#conversations-panel .btn-close").click()

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete")
    expect(page.locator("#conversation-title")).to_have_text("New conversation")
    expect(page.locator(".chat-msg")).to_have_count(0)
    assert Conversation.get_or_none(Conversation.id == second.id) is None
    assert ConversationMessage.select().count() == 2  # the first conversation's turn
    chat.open_list()
    expect(titles).to_have_text(["First topic"])
    assert page.url.endswith("/chat")
    assert chat.errors == []


def test_images_tool_calls_and_reasoning_are_shown(chat, user) -> None:
    job = create_job(user, status="succeeded", result_text="It is a **pixel**.",
                     input_tokens=90, output_tokens=12, cost_credits=4, hold_credits=50,
                     output_json=json.dumps([
                         {"reasoning": "Looking at the image"},
                         {"tool_call": {"index": 0, "id": "call_1", "name": "measure",
                                        "arguments": '{"unit": "px"}'}}]))
    turn = create_turn(user, "What is this?", images=[PNG, "https://example.com/remote.png"],
                       job=job, model="gpt-4o-mini")
    page = chat.go(f"/chat?conversation={turn.conversation_id}")
    user_message = page.locator(".chat-user")
    expect(user_message.locator("img.chat-image")).to_have_attribute("src", PNG)
    expect(user_message.locator(".chat-images a")).to_have_attribute(
        "href", "https://example.com/remote.png")  # a remote image is a link, never loaded
    reply = page.locator(".chat-assistant")
    expect(reply.locator(".chat-text strong")).to_have_text("pixel")
    tool = reply.locator("details.chat-tool")
    expect(tool.locator("summary")).to_have_text("Tool call: measure")
    expect(tool.locator("pre")).to_be_hidden()
    tool.locator("summary").click()
    expect(tool.locator("pre")).to_have_text('{"unit": "px"}')
    expect(reply.locator("details.chat-reasoning summary")).to_have_text("Reasoning")
    expect(reply.locator(".chat-meta")).to_contain_text("Done · 90 in / 12 out tokens · "
                                                        "charged 4 credits")
    # local-echo (the model chosen) cannot read images: attaching is off, and says why
    page.select_option("#model", "local-echo")
    expect(page.locator("#images")).to_be_disabled()
    expect(page.locator("#images-help")).to_have_text("This model cannot read images.")
    chat.assert_fits()
    chat.shot("chat-parts")
    assert chat.errors == []


def test_a_reply_still_running_is_followed_after_a_reload(chat) -> None:
    page = chat.go("/chat")
    chat.send("Tell me a long story " * 8, max_tokens=120)
    expect(page.locator(".chat-assistant .chat-text").last).to_contain_text("You said",
                                                                            timeout=20_000)
    page.reload()  # mid-reply: the page finds it pending and follows its job from the start
    wait_settled(page, 0)
    job = last_job()
    assert job.status == "succeeded"
    assert page.locator(".chat-assistant .chat-text").inner_text() == job.result_text
    assert re.search(r"Done · \d+ in / \d+ out tokens",
                     page.locator(".chat-assistant .chat-meta").inner_text())
    assert chat.errors == []
