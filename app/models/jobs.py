"""Generation jobs (chat, video and embeddings) and the usage record written when each one is settled."""

from __future__ import annotations

import uuid

from peewee import (
    BigIntegerField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    TextField,
)

from app.models.base import BaseModel, utcnow
from app.models.users import User

JOB_TYPES = ("chat", "video", "embedding")
QUEUED_JOB_TYPES = ("chat", "video")  # what `POST /api/jobs` creates (embeddings: /v1 only)
ACTIVE_STATUSES = ("queued", "running")
TERMINAL_STATUSES = ("succeeded", "failed", "canceled")


def new_job_id() -> str:
    return uuid.uuid4().hex


class Job(BaseModel):
    id = CharField(primary_key=True, max_length=32, default=new_job_id)
    user = ForeignKeyField(User, backref="jobs", on_delete="CASCADE", index=True)
    api_key_id = IntegerField(null=True, index=True)
    type = CharField(max_length=16)  # chat, video, embedding (16 since migration 015)
    status = CharField(max_length=12, default="queued", index=True)
    model = CharField(max_length=100)
    provider = CharField(max_length=40, null=True)
    channel = CharField(max_length=80, null=True)
    request_json = TextField()  # the validated request: messages/params or prompt/seconds/size
    price_id = IntegerField()
    hold_id = IntegerField(null=True)
    hold_credits = BigIntegerField(default=0)
    cost_credits = BigIntegerField(null=True)
    input_tokens = IntegerField(null=True)
    output_tokens = IntegerField(null=True)
    prompt_tokens_estimate = IntegerField(default=0)
    video_seconds = IntegerField(null=True)
    result_text = TextField(null=True)
    content_path = CharField(max_length=500, null=True)
    content_bytes = BigIntegerField(null=True)
    upstream_id = CharField(max_length=120, null=True)  # the provider's id (video jobs)
    finish_reason = CharField(max_length=30, null=True)
    upstream_ms = FloatField(null=True)  # time spent waiting on the provider (for the overhead)
    error_code = CharField(max_length=60, null=True)
    error_message = TextField(null=True)
    outcome = CharField(max_length=12, null=True)  # the terminal status decided before settling
    worker_token = CharField(max_length=32, null=True)  # which run owns the job
    lease_expires_at = DateTimeField(null=True, index=True)
    delivered_chars = IntegerField(default=0)  # output already appended to the event stream
    attempts = IntegerField(default=0)
    source = CharField(max_length=16, default="api")  # api, openai, anthropic, responses, conversation
    executor = CharField(max_length=8, default="queue")  # queue (a worker) or web (see jobs.py)
    # indexed with status and provider (migration 019: `job_created_at_outcome`)
    created_at = DateTimeField(default=utcnow)
    enqueued_at = DateTimeField(default=utcnow)  # when its message was last sent
    started_at = DateTimeField(null=True)
    first_token_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    # what the provider reported beyond input/output (migration 014); `input_tokens` is the
    # whole prompt, cached and cache-written tokens included
    cached_input_tokens = IntegerField(null=True)
    cache_write_tokens = IntegerField(null=True)
    reasoning_tokens = IntegerField(null=True)
    output_json = TextField(null=True)  # the reply's structured output, tool calls, reasoning

    class Meta:
        table_name = "jobs"
        indexes = ((("user", "created_at"), False),)


class UsageRecord(BaseModel):
    """One row per settled job: what the dashboard, the back office and metrics read."""

    job = ForeignKeyField(Job, unique=True, on_delete="CASCADE")
    # `user` and `created_at` lead covering indexes (migration 019: PostgreSQL's INCLUDE, which
    # peewee cannot declare): `(created_at)` and `(user_id, created_at)` with the totals
    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    api_key_id = IntegerField(null=True, index=True)
    model = CharField(max_length=100)
    provider = CharField(max_length=40, null=True)
    status = CharField(max_length=12)
    input_tokens = IntegerField(default=0)
    output_tokens = IntegerField(default=0)
    video_seconds = IntegerField(default=0)
    cost_credits = BigIntegerField(default=0)
    latency_ms = FloatField(null=True)
    ttft_ms = FloatField(null=True)
    created_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "usage_records"


class UsageDaily(BaseModel):
    """Usage rolled up per user, UTC day, model and provider by the retention pass
    (`app.services.retention`): what replaces the usage records older than the cut-off."""

    user = ForeignKeyField(User, on_delete="CASCADE", index=False)
    day = DateField()
    model = CharField(max_length=100)
    provider = CharField(max_length=40, default="")  # "" where the records said none
    jobs = BigIntegerField(default=0)
    input_tokens = BigIntegerField(default=0)
    output_tokens = BigIntegerField(default=0)
    video_seconds = BigIntegerField(default=0)
    cost_credits = BigIntegerField(default=0)

    class Meta:
        table_name = "usage_daily"
        indexes = ((("user", "day", "model", "provider"), True), (("day",), False))
