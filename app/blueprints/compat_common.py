"""What the OpenAI- and Anthropic-compatible endpoints share: the body, the caller, and the
reply, a job's events rendered by a wire format's writer (`app.wire`) with the hub's headers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flask import Response, jsonify, request, stream_with_context

from app.blueprints.request_scope import current_request_scope
from app.chat.events import ChatError, Finish, FinishReason, Reply, ReplyBuilder, piece_of
from app.chat.record import messages_to_record, options_to_record
from app.chat.request import ChatRequest
from app.jobs import api as jobs
from app.jobs.output import JobOutput, compat_executor, start_output
from app.models.jobs import Job
from app.security import current_principal
from app.wire.base import InvalidRequest, ReplyWriter


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def caller() -> tuple[Any, Any]:
    """The user and the API key (if any) the request came with."""
    principal = current_principal()
    return principal.user, principal.api_key


def finish_of(usage_event: dict[str, Any], status: str) -> Finish:
    """How the reply ended, from the job's `usage` event and final status: a run that did not
    succeed (its error told apart) ends as a stop."""
    usage = usage_event.get("usage", {})
    provider_reason = usage_event.get("finish_reason") if status == "succeeded" else None
    return Finish(reason=FinishReason.of(provider_reason), provider_reason=provider_reason,
                  input_tokens=usage.get("input_tokens", 0),
                  output_tokens=usage.get("output_tokens", 0),
                  cached_input_tokens=usage.get("cached_input_tokens", 0),
                  cache_write_tokens=usage.get("cache_write_tokens", 0),
                  reasoning_tokens=usage.get("reasoning_tokens", 0),
                  cost_credits=usage_event.get("cost_credits", 0))


def sse_frames(relay: JobOutput, writer: ReplyWriter) -> Iterator[str]:
    """The job's events as the writer's frames. A delta of the first choice's text is handed
    over as its text alone (no event object per chunk); other pieces as pieces. The caller
    going away before the end cancels the job."""
    usage_event: dict[str, Any] = {}
    done = False
    try:
        yield from writer.start()
        text = writer.text
        for event in relay.rest():
            kind = event.type
            if kind == "delta":
                data = event.data
                plain = data.get("text")
                if plain is not None and "choice" not in data:
                    yield text(plain)
                else:
                    yield writer.piece(piece_of(data))
            elif kind == "usage":
                usage_event = event.data
            elif kind == "error":
                yield writer.error(ChatError(event.data["code"], event.data["message"]))
            elif kind == "done":
                done = True
                yield from writer.finish(finish_of(usage_event, event.data["status"]))
        yield from writer.close()
    finally:
        if not done:
            relay.cancel()


def whole_reply(result: dict[str, Any], choices: int = 1) -> Reply:
    """A collected job (`JobOutput.collect`) as a reply of `choices` choices."""
    builder = ReplyBuilder()
    for data in result["deltas"]:
        builder.add(piece_of(data))
    return Reply(choices=builder.choices(choices), logprobs=builder.choice_logprobs(choices),
                 finish=finish_of(result["usage"], "failed" if result["error"] else "succeeded"))


def sse_response(events: Iterator[str], job_id: str, overhead_ms: float | None) -> Response:
    """A streamed reply with the hub's headers (the charge is not known yet when they leave).

    The body runs inside the request's context: a job run by this thread needs the app."""
    return Response(stream_with_context(events), mimetype="text/event-stream", headers={
        "X-Hub-Overhead-Ms": f"{overhead_ms or 0:.2f}", "X-Hub-Job-Id": job_id,
        "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def json_response(body: dict[str, Any], job_id: str, result: dict[str, Any]) -> Response:
    """A whole reply with the hub's headers, the charge included."""
    response = jsonify(body)
    response.headers["X-Hub-Overhead-Ms"] = f"{result['overhead_ms']:.2f}"
    response.headers["X-Hub-Cost-Credits"] = str(result["usage"].get("cost_credits", 0))
    response.headers["X-Hub-Job-Id"] = job_id
    return response


def chat_reply(chat: ChatRequest, *, source: str,
               writer_for: Callable[[Job], ReplyWriter]) -> Response:
    """The one flow of every compatible chat endpoint: open the job (its hold first), run it
    (`start_output`), and answer with the writer's frames as they come or its one body. The
    writer is made once the job exists (a whole reply's, once the reply is complete)."""
    user, api_key = caller()
    scope = current_request_scope()
    job = jobs.create_job(user, job_spec(chat), api_key=api_key, source=source,
                          executor=compat_executor(), scope=scope)
    relay = start_output(job, streaming=chat.stream, scope=scope)
    if chat.stream:
        relay.first_output()
        return sse_response(sse_frames(relay, writer_for(job)), job.id, relay.overhead_ms)
    result = relay.collect()
    return json_response(writer_for(job).body(whole_reply(result, chat.n)), job.id, result)


def job_spec(chat: ChatRequest) -> jobs.ChatSpec:
    """The job core's spec of a parsed request (its messages in the stored form)."""
    return jobs.ChatSpec(model=chat.model, messages=messages_to_record(chat.messages),
                         max_tokens=chat.max_tokens, temperature=chat.temperature,
                         top_p=chat.top_p, stop=list(chat.stop) if chat.stop else None,
                         options=options_to_record(chat), needs=chat.needs)
