"""Peewee migrations -- 004_jobs.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    pass


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Jobs and usage records."""

    @migrator.create_model
    class Job(pw.Model):
        id = pw.CharField(max_length=32, primary_key=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        api_key_id = pw.IntegerField(index=True, null=True)
        type = pw.CharField(max_length=8)
        status = pw.CharField(default='queued', index=True, max_length=12)
        model = pw.CharField(max_length=100)
        provider = pw.CharField(max_length=40, null=True)
        channel = pw.CharField(max_length=80, null=True)
        request_json = pw.TextField()
        price_id = pw.IntegerField()
        hold_id = pw.IntegerField(null=True)
        hold_credits = pw.BigIntegerField(default=0)
        cost_credits = pw.BigIntegerField(null=True)
        input_tokens = pw.IntegerField(null=True)
        output_tokens = pw.IntegerField(null=True)
        prompt_tokens_estimate = pw.IntegerField(default=0)
        video_seconds = pw.IntegerField(null=True)
        result_text = pw.TextField(null=True)
        content_path = pw.CharField(max_length=500, null=True)
        content_bytes = pw.BigIntegerField(null=True)
        upstream_id = pw.CharField(max_length=120, null=True)
        finish_reason = pw.CharField(max_length=30, null=True)
        upstream_ms = pw.FloatField(null=True)
        error_code = pw.CharField(max_length=60, null=True)
        error_message = pw.TextField(null=True)
        outcome = pw.CharField(max_length=12, null=True)
        worker_token = pw.CharField(max_length=32, null=True)
        lease_expires_at = pw.DateTimeField(index=True, null=True)
        delivered_chars = pw.IntegerField(default=0)
        attempts = pw.IntegerField(default=0)
        source = pw.CharField(default='api', max_length=16)
        created_at = pw.DateTimeField(index=True)
        enqueued_at = pw.DateTimeField()
        started_at = pw.DateTimeField(null=True)
        first_token_at = pw.DateTimeField(null=True)
        finished_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "jobs"
            indexes = [(('user', 'created_at'), False)]


    @migrator.create_model
    class UsageRecord(pw.Model):
        id = pw.AutoField()
        job = pw.ForeignKeyField(column_name='job_id', field='id', model=migrator.orm['jobs'], on_delete='CASCADE', unique=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['users'], on_delete='CASCADE')
        api_key_id = pw.IntegerField(index=True, null=True)
        model = pw.CharField(max_length=100)
        provider = pw.CharField(max_length=40, null=True)
        status = pw.CharField(max_length=12)
        input_tokens = pw.IntegerField(default=0)
        output_tokens = pw.IntegerField(default=0)
        video_seconds = pw.IntegerField(default=0)
        cost_credits = pw.BigIntegerField(default=0)
        latency_ms = pw.FloatField(null=True)
        ttft_ms = pw.FloatField(null=True)
        created_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "usage_records"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Drop what migrate created."""
    migrator.remove_model('usage_records')
    migrator.remove_model('jobs')
