"""Peewee migrations -- 016_video_audio_price.py.

Written by hand: `model_prices` gains `per_second_audio_credits`, the price of a second of video
made with audio, for models that price audio apart (Veo 3.x). NULL: the per-second rate, which
is what every version written before this migration charged for every second. No function
changes: a video job's hold and charge are computed by the hub and passed in, and the seconds it
delivered are written to `jobs.video_seconds` before its settle reads them.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator

with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext  # noqa: F401


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("model_prices", per_second_audio_credits=pw.BigIntegerField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("model_prices", "per_second_audio_credits")
