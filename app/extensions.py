"""Flask extensions, created unbound here and bound to an app with `init_app` in the factory."""

from __future__ import annotations

from flask_sock import Sock
from peewee import DatabaseProxy

db = DatabaseProxy()
sock = Sock()
