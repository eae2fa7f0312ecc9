"""The pieces of a reply: as a job's `delta` events and back, merged per batch, assembled into
a whole reply, and counted when the provider reported no usage."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.chat.events import (
    LogprobsDelta,
    ReasoningDelta,
    ReplyBuilder,
    TextDelta,
    ToolCallDelta,
    billable_text,
    merge_pieces,
    piece_of,
)
from app.chat.request import ReasoningPart, TextPart, ToolCallPart

texts = st.text(max_size=20)
choices = st.integers(0, 7)
maybe = st.none() | st.text(min_size=1, max_size=10)
pieces = st.one_of(
    st.builds(TextDelta, texts, choice=choices),
    st.builds(ToolCallDelta, st.integers(0, 5), texts, id=maybe, name=maybe, choice=choices),
    st.builds(ReasoningDelta, texts, signature=maybe, redacted=maybe, choice=choices))


@given(pieces)
def test_every_piece_round_trips_through_its_event_data(piece) -> None:
    assert piece_of(piece.as_data()) == piece


@given(st.lists(pieces, max_size=12))
def test_merging_a_batch_keeps_what_a_reply_is_built_from(batch) -> None:
    """Merged or not, the pieces build the same reply (what a client is finally given)."""
    whole, merged = ReplyBuilder(), ReplyBuilder()
    for piece in batch:
        whole.add(piece)
    for piece in merge_pieces(batch):
        merged.add(piece)
    assert merged.choices() == whole.choices()
    assert len(merge_pieces(batch)) <= len(batch)


def test_merging_joins_one_kind_and_place_only() -> None:
    assert merge_pieces([
        TextDelta("a"), TextDelta("b"), TextDelta("c", choice=1),
        ToolCallDelta(0, "", id="c1", name="f"), ToolCallDelta(0, '{"x"'), ToolCallDelta(0, ":1}"),
        ToolCallDelta(1, "", id="c2", name="g"),
        ReasoningDelta("th"), ReasoningDelta("ink", signature="s"), ReasoningDelta("again"),
    ]) == [TextDelta("ab"), TextDelta("c", choice=1),
           ToolCallDelta(0, '{"x":1}', id="c1", name="f"),
           ToolCallDelta(1, "", id="c2", name="g"),
           ReasoningDelta("think", signature="s"), ReasoningDelta("again")]


def test_a_reply_is_built_in_the_order_the_pieces_came() -> None:
    builder = ReplyBuilder()
    for piece in [ReasoningDelta("Let me "), ReasoningDelta("think."),
                  ReasoningDelta("", signature="sig"), ReasoningDelta("More."),
                  TextDelta("Checking"), TextDelta("."),
                  ToolCallDelta(0, "", id="call_1", name="weather"), TextDelta("B", choice=1),
                  ToolCallDelta(1, "{}", id="call_2", name="clock"),
                  ToolCallDelta(0, '{"city":'), ToolCallDelta(0, '"Oslo"}'),
                  ReasoningDelta("", redacted="opaque")]:
        builder.add(piece)
    assert builder.choices(3) == (
        (ReasoningPart("Let me think.", signature="sig"), ReasoningPart("More."),
         TextPart("Checking."), ToolCallPart("call_1", "weather", '{"city":"Oslo"}'),
         ToolCallPart("call_2", "clock", "{}"), ReasoningPart("", redacted="opaque")),
        (TextPart("B"),), ())


def test_everything_delivered_is_billable_text() -> None:
    assert [billable_text(p) for p in (TextDelta("hi"), ToolCallDelta(0, "{}", name="clock"),
                                       ToolCallDelta(0, '"x"'), ReasoningDelta("hmm"),
                                       ReasoningDelta("", signature="s"))] == \
        ["hi", "clock{}", '"x"', "hmm", ""]


def test_log_probabilities_round_trip_and_are_not_billed() -> None:
    piece = LogprobsDelta(({"token": "Hi", "logprob": -0.1, "bytes": [72, 105],
                            "top_logprobs": []},), choice=1)
    assert piece_of(piece.as_data()) == piece
    assert billable_text(piece) == ""
    builder = ReplyBuilder()
    builder.add(TextDelta("Hi", choice=1))
    builder.add(piece)
    assert builder.choice_logprobs(2) == (None, piece.content)
    assert merge_pieces([piece, piece]) == [LogprobsDelta(piece.content * 2, choice=1)]
