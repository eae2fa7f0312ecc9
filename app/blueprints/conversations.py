"""Conversations kept on the server: list, create (with a first message), read, rename,
delete, send a message (which opens the chat job that answers it), read one message."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from apiflask import APIBlueprint, Schema
from apiflask.fields import Dict, Integer, List, Nested, String
from apiflask.validators import Length, Range
from flask import Response
from marshmallow import ValidationError, validates_schema

from app.blueprints.fields import UtcDateTime
from app.blueprints.request_scope import current_request_scope
from app.jobs.conversation_turns import SentTurn, send_turn
from app.models.base import INTEGER_MAX
from app.security import current_principal, require_auth
from app.services import conversations
from app.services.conversations import ConversationSummary, MessageView
from app.services.conversations.threads import MAX_TITLE_CHARS
from app.services.conversations.turns import MAX_IMAGES, MAX_TEXT_CHARS

bp = APIBlueprint("conversations", __name__, url_prefix="/api/conversations",
                  tag="Conversations")

SEND_RESPONSES = [400, 402, 403, 404, 409, 422, 503]


class ListQuery(Schema):
    cursor = String(load_default=None, validate=Length(max=200),
                    metadata={"description": "next_cursor of the previous page"})
    limit = Integer(load_default=20, validate=Range(min=1, max=100))


class TurnIn(Schema):
    model = String(required=True, validate=Length(min=1, max=100))
    content = String(load_default="", validate=Length(max=MAX_TEXT_CHARS),
                     metadata={"description": "the message's text (markdown is kept as typed)"})
    images = List(String(validate=Length(min=1, max=4_000_000)), load_default=list,
                  validate=Length(max=MAX_IMAGES),
                  metadata={"description": "data:image/...;base64 URLs (PNG, JPEG, WebP, GIF) "
                                           "or http(s) URLs; the model must accept images"})
    max_tokens = Integer(validate=Range(min=1, max=INTEGER_MAX),
                         metadata={"description": "the longest reply; the model's maximum "
                                                  "when left out"})


class FirstMessageIn(Schema):
    content = String(load_default="", validate=Length(max=MAX_TEXT_CHARS))
    images = List(String(validate=Length(min=1, max=4_000_000)), load_default=list,
                  validate=Length(max=MAX_IMAGES))


class ConversationIn(Schema):
    title = String(validate=Length(min=1, max=MAX_TITLE_CHARS))
    model = String(validate=Length(min=1, max=100))
    max_tokens = Integer(validate=Range(min=1, max=INTEGER_MAX))
    message = Nested(FirstMessageIn, metadata={
        "description": "send this first message at once (then `model` is required): the "
                       "conversation and its first turn are created together, or not at all"})

    @validates_schema
    def _model_for_message(self, data: dict, **_: object) -> None:
        if data.get("message") is not None and not data.get("model"):
            raise ValidationError("a first message needs a model", "model")


class RenameIn(Schema):
    title = String(required=True, validate=Length(min=1, max=MAX_TITLE_CHARS))


class ConversationOut(Schema):
    id = String(required=True)
    title = String(required=True)
    model = String(allow_none=True, required=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True, metadata={"description": "its last turn"})


class ConversationListOut(Schema):
    items = List(Nested(ConversationOut), required=True)
    next_cursor = String(allow_none=True, required=True)


class JobSummaryOut(Schema):
    id = String(required=True)
    status = String(required=True)
    model = String(required=True)
    input_tokens = Integer(required=True)
    output_tokens = Integer(required=True)
    hold_credits = Integer(required=True)
    cost_credits = Integer(allow_none=True, required=True,
                           metadata={"description": "null until the job is settled"})
    url = String(required=True)


class ErrorOut(Schema):
    code = String(required=True)
    message = String(required=True)


class MessageOut(Schema):
    id = Integer(required=True)
    position = Integer(required=True)
    role = String(required=True)
    status = String(required=True, metadata={
        "description": "user: sent; assistant: pending, then succeeded, failed or canceled "
                       "(as its job), or not_sent"})
    content = String(allow_none=True, required=True,
                     metadata={"description": "null while the reply is pending"})
    html = String(allow_none=True, required=True,
                  metadata={"description": "a reply's markdown as sanitized HTML"})
    parts = List(Dict(), required=True,
                 metadata={"description": "images (user), tool calls and reasoning (reply)"})
    job_id = String(allow_none=True, required=True)
    job = Nested(JobSummaryOut, allow_none=True, required=True)
    error = Nested(ErrorOut, allow_none=True, required=True)
    created_at = UtcDateTime(required=True)


class ConversationDetailOut(ConversationOut):
    messages = List(Nested(MessageOut), required=True)


class JobCreatedOut(Schema):
    id = String(required=True)
    status = String(required=True)
    stream_url = String(required=True)
    hold_credits = Integer(required=True)


class TurnOut(Schema):
    conversation_id = String(required=True)
    user_message_id = Integer(required=True)
    reply_message_id = Integer(required=True)
    job = Nested(JobCreatedOut, required=True)


class ConversationCreatedOut(ConversationOut):
    turn = Nested(TurnOut, allow_none=True, required=True,
                  metadata={"description": "the first turn, when a message was sent"})


def _conversation(summary: ConversationSummary) -> dict[str, Any]:
    return asdict(summary)


def _message(view: MessageView) -> dict[str, Any]:
    body = asdict(view)
    if view.job is not None:
        body["job"]["url"] = f"/api/jobs/{view.job.id}"
    return body


def _turn(sent: SentTurn) -> dict[str, Any]:
    job = sent.job
    return {"conversation_id": sent.turn.conversation_id,
            "user_message_id": sent.turn.user_message_id,
            "reply_message_id": sent.turn.reply_message_id,
            "job": {"id": job.id, "status": job.status, "stream_url": f"/ws/jobs/{job.id}",
                    "hold_credits": job.hold_credits}}


def _send(conversation_id: str | None, body: dict[str, Any], message: dict[str, Any],
          title: str | None = None) -> SentTurn:
    principal = current_principal()
    return send_turn(principal.user, conversation_id, text=message["content"],
                     images=message["images"], model=body["model"],
                     max_tokens=body.get("max_tokens"), title=title,
                     api_key=principal.api_key, scope=current_request_scope())


@bp.get("")
@require_auth(api_key=True)
@bp.input(ListQuery, location="query", arg_name="query")
@bp.output(ConversationListOut)
@bp.doc(summary="Your conversations, most recently active first, a page at a time",
        description="Keyset pagination: pass `next_cursor` back as `cursor`.",
        responses=[200, 400, 422])
def list_conversations(query: dict[str, Any]) -> dict[str, Any]:
    page = conversations.list_conversations(current_principal().user.id, cursor=query["cursor"],
                                            limit=query["limit"])
    return {"items": [_conversation(c) for c in page.items], "next_cursor": page.next_cursor}


@bp.post("")
@require_auth(api_key=True, verified=True)
@bp.input(ConversationIn, arg_name="body")
@bp.output(ConversationCreatedOut, status_code=201)
@bp.doc(summary="Start a conversation, with its first message if given (which opens the job "
                "that answers it: its hold first)", responses=[201, *SEND_RESPONSES])
def create_conversation(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("message") is None:
        created = conversations.create_conversation(current_principal().user.id,
                                                    title=body.get("title"),
                                                    model=body.get("model"))
        return {**_conversation(created), "turn": None}
    sent = _send(None, body, body["message"], title=body.get("title"))
    summary = conversations.get_conversation(current_principal().user.id,
                                             sent.turn.conversation_id)
    return {**_conversation(summary), "turn": _turn(sent)}


@bp.get("/<conversation_id>")
@require_auth(api_key=True)
@bp.output(ConversationDetailOut)
@bp.doc(summary="One conversation with its messages, each reply with its job, tokens and "
                "cost", responses=[200, 404])
def get_conversation(conversation_id: str) -> dict[str, Any]:
    view = conversations.open_conversation(current_principal().user.id, conversation_id)
    return {**_conversation(view.conversation),
            "messages": [_message(m) for m in view.messages]}


@bp.patch("/<conversation_id>")
@require_auth(api_key=True)
@bp.input(RenameIn, arg_name="body")
@bp.output(ConversationOut)
@bp.doc(summary="Rename a conversation", responses=[200, 404, 422])
def rename_conversation(conversation_id: str, body: dict[str, str]) -> dict[str, Any]:
    return _conversation(conversations.rename_conversation(current_principal().user.id,
                                                           conversation_id, body["title"]))


@bp.delete("/<conversation_id>")
@require_auth(api_key=True)
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a conversation and its messages (its jobs stay, as billing records)",
        responses=[204, 404])
def delete_conversation(conversation_id: str) -> Response:
    conversations.delete_conversation(current_principal().user.id, conversation_id)
    return Response(status=204)


@bp.post("/<conversation_id>/messages")
@require_auth(api_key=True, verified=True)
@bp.input(TurnIn, arg_name="body")
@bp.output(TurnOut, status_code=202)
@bp.doc(summary="Send a message: the job that answers it is asked the conversation so far "
                "(its hold first); follow it at `job.stream_url`",
        responses=[202, *SEND_RESPONSES])
def send_message(conversation_id: str, body: dict[str, Any]) -> dict[str, Any]:
    return _turn(_send(conversation_id, body, body))


@bp.get("/<conversation_id>/messages/<int:message_id>")
@require_auth(api_key=True)
@bp.output(MessageOut)
@bp.doc(summary="One message (a reply is filled from its job once settled)",
        responses=[200, 404])
def get_message(conversation_id: str, message_id: int) -> dict[str, Any]:
    return _message(conversations.get_message(current_principal().user.id, conversation_id,
                                              message_id))
