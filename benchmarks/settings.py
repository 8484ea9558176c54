"""Settings of the benchmark server: the example project's, tuned as a production site would be.

Importing ``config.settings`` (``example_project/`` on ``sys.path``) keeps the benchmark on the
same apps, middleware and ``DATABASE_URL`` handling as the example site, so no benchmark switch
lives in the example project. What changes, and why:

- ``ROOT_URLCONF``: the example URLs plus the bare DRF baseline view (:mod:`benchmarks.baseline_urls`).
- ``DEBUG = False``: ``DEBUG`` records every SQL query in memory and renders 500s as HTML pages.
- ``CONN_MAX_AGE``: persistent connections, as any deployed site has; without them every request
  pays a PostgreSQL backend fork, a fixed cost that would hide the app's own cost in every ratio.
- Only with ``run.py --without-log``: ``SCIM["LOG_ENABLED"] = False``, to measure what the
  provisioning log costs the writes. The log is on by default, and so it is in the benchmark.
"""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import ALLOWED_HOSTS, DATABASES, SCIM

from benchmarks._setup import WITHOUT_LOG_VARIABLE

ROOT_URLCONF = "benchmarks.baseline_urls"
DEBUG = False
# "testserver": the runner replays each scenario once in-process with django.test.Client.
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
DATABASES["default"]["CONN_MAX_AGE"] = 600
if os.environ.get(WITHOUT_LOG_VARIABLE) == "1":
    SCIM = {**SCIM, "LOG_ENABLED": False}
