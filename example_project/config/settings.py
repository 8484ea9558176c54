"""Settings of the example site: a plain Django project with django_scim added.

Environment variables:

- ``DATABASE_URL``: ``postgres://user:password@host:port/name`` (query parameters such as
  ``?sslmode=require`` become connection options; ``server_side_binding=true`` and
  ``prepare_threshold=N`` turn on Django's server-side parameter binding and psycopg's prepared
  statements). Default: SQLite at ``example_project/db.sqlite3``.
- ``DJANGO_DEBUG``: ``1`` (default) or ``0``.
- ``DJANGO_SECRET_KEY``: required when ``DJANGO_DEBUG=0``.
- ``DJANGO_ALLOWED_HOSTS``: comma-separated, default ``127.0.0.1,localhost``.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = os.environ.get("DJANGO_DEBUG", "1").strip().lower() in {"1", "true", "yes", "on"}
if DEBUG:
    SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-project-insecure-key-for-local-use-only")
else:
    SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
ALLOWED_HOSTS = [
    host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_scim",
    # A resource type of the site's own (RFC 7643 section 6): see devices/__init__.py.
    "devices",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_url(url: str) -> dict[str, object]:
    """Django ``DATABASES`` entry for a ``postgres://`` or ``sqlite:///`` URL."""
    parts = urlsplit(url)
    options: dict[str, object] = dict(parse_qsl(parts.query))
    # Django takes these two typed: the binding only when it `is True`, the threshold as a number.
    if "server_side_binding" in options:
        options["server_side_binding"] = str(options["server_side_binding"]).lower() in {
            "1",
            "true",
            "yes",
            "on",
        }
    if "prepare_threshold" in options:
        threshold = str(options["prepare_threshold"])
        options["prepare_threshold"] = None if threshold.lower() == "none" else int(threshold)
    if parts.scheme == "sqlite":
        # sqlite:///relative/path, sqlite:////absolute/path
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:]) or ":memory:"}
    if parts.scheme in {"postgres", "postgresql"}:
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": unquote(parts.hostname or ""),
            "PORT": parts.port or "",
            "OPTIONS": options,
        }
    raise ValueError(f"DATABASE_URL: unsupported scheme {parts.scheme!r} (use postgres:// or sqlite:///)")


DATABASES = {
    "default": database_from_url(os.environ["DATABASE_URL"])
    if os.environ.get("DATABASE_URL")
    else {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"

# django_scim reads only this dict; every key is optional. The keys and their defaults are in the
# settings reference: docs/ (https://django-scim-provider.readthedocs.io/).
SCIM: dict[str, object] = {
    # Users and Groups come by default; Device is the site's own resource type (/Devices).
    "RESOURCE_TYPES": {"Device": {"ADAPTER": "devices.scim.DeviceAdapter"}},
}
