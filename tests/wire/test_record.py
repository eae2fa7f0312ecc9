"""A job's stored request reads back as the hub's request and is written as it always was."""

from __future__ import annotations

from app.chat.events import FinishReason
from app.chat.record import messages_from_record, messages_to_record, request_from_record
from app.chat.request import ImagePart, Message, TextPart

RECORD = [{"role": "system", "content": "Be brief."},
          {"role": "user", "name": "ada", "content": [
              {"type": "text", "text": "What is this?"},
              {"type": "image_url", "image_url": {"url": "https://example.com/x.png"}}]},
          {"role": "assistant", "content": ""}]


def test_messages_round_trip_through_the_record() -> None:
    messages = messages_from_record(RECORD)
    assert messages[1] == Message("user", (TextPart("What is this?"),
                                           ImagePart("https://example.com/x.png")), name="ada")
    assert messages_to_record(messages) == RECORD


def test_a_stored_job_request_reads_back() -> None:
    request = request_from_record("gpt-4o", {"messages": RECORD[:1], "max_tokens": 9,
                                             "temperature": None, "top_p": 0.5,
                                             "stop": ["END"]})
    assert (request.model, request.max_tokens, request.top_p, request.stop) == \
        ("gpt-4o", 9, 0.5, ("END",))
    assert request.system == "Be brief."


def test_every_vendor_word_for_an_ending_maps_to_one_reason() -> None:
    assert {word: FinishReason.of(word).value for word in (
        "stop", "end_turn", "stop_sequence", "length", "max_tokens", "tool_use", "tool_calls",
        "function_call", "content_filter", "refusal", "pause_turn", None)} == {
        "stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "length": "length",
        "max_tokens": "length", "tool_use": "tool_calls", "tool_calls": "tool_calls",
        "function_call": "tool_calls", "content_filter": "content_filter",
        "refusal": "content_filter", "pause_turn": "stop", None: "stop"}
