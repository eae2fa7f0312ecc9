"""Peewee migrations -- 017_usage_daily.py.

Written by hand: `usage_daily`, usage rolled up per user, UTC day, model and provider. The
retention pass (`app.services.retention`) moves usage records older than `HUB_RETENTION_DAYS`
into it, adding to the row of their key (unique), and deletes them in the same transaction;
usage reads add it to the records left (`app.services.usage_report`). No function changes.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class UsageDaily(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["users"],
                                  on_delete="CASCADE", index=False)
        day = pw.DateField()
        model = pw.CharField(max_length=100)
        provider = pw.CharField(max_length=40, default="")
        jobs = pw.BigIntegerField(default=0)
        input_tokens = pw.BigIntegerField(default=0)
        output_tokens = pw.BigIntegerField(default=0)
        video_seconds = pw.BigIntegerField(default=0)
        cost_credits = pw.BigIntegerField(default=0)

        class Meta:
            table_name = "usage_daily"
            indexes = ((("user", "day", "model", "provider"), True), (("day",), False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_model("usage_daily")
