"""Peewee migrations -- 018_conversations.py.

Written by hand: `conversations` and `conversation_messages`, the chat conversations kept on
the server (`app.services.conversations`). A user's conversations are listed most recently
active first (index on user, updated_at, id); a conversation's messages are read in order
(unique on conversation, position, which also refuses two turns sent at once into one place).
A partial index finds the few replies still pending (read lazily from their jobs, and by the
retention pass before it strips old jobs). No function changes.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class Conversation(pw.Model):
        id = pw.CharField(max_length=32, primary_key=True)
        user = pw.ForeignKeyField(column_name="user_id", field="id", model=migrator.orm["users"],
                                  on_delete="CASCADE", index=False)
        title = pw.CharField(max_length=200, null=True)
        model = pw.CharField(max_length=100, null=True)
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()

        class Meta:
            table_name = "conversations"
            indexes = ((("user", "updated_at", "id"), False),)

    @migrator.create_model
    class ConversationMessage(pw.Model):
        id = pw.AutoField()
        conversation = pw.ForeignKeyField(column_name="conversation_id", field="id",
                                          model=migrator.orm["conversations"],
                                          on_delete="CASCADE", index=False)
        position = pw.IntegerField()
        role = pw.CharField(max_length=16)
        status = pw.CharField(max_length=12)
        content = pw.TextField(null=True)
        parts_json = pw.TextField(null=True)
        job = pw.ForeignKeyField(column_name="job_id", field="id", model=migrator.orm["jobs"],
                                 null=True, on_delete="SET NULL", index=True)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "conversation_messages"
            indexes = ((("conversation", "position"), True),)

    migrator.sql("CREATE INDEX conversation_messages_pending ON conversation_messages (job_id) "
                 "WHERE status = 'pending'")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.sql("DROP INDEX IF EXISTS conversation_messages_pending")
    migrator.remove_model("conversation_messages")
    migrator.remove_model("conversations")
