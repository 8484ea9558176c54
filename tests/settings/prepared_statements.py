"""Variant (PostgreSQL): Django's server-side parameter binding with psycopg's prepared statements.

Sites without a transaction-pooling proxy may turn these on (``OPTIONS``); every query of the
app, the cached statements of :mod:`django_scim.orm.statements` included, must work with typed,
server-bound parameters. A threshold of 1 prepares every statement on its second run.
"""

from __future__ import annotations

from .default import *  # noqa: F403
from .default import DATABASES

if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 1}
