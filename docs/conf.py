"""Sphinx configuration of the django-scim-provider documentation.

Autodoc imports ``django_scim`` modules, which need configured Django settings: the docs use the
test settings (``tests.settings.default``), so building them needs no site of your own.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings.default")
django.setup()

from django_scim import __version__  # noqa: E402  (needs django.setup() first)

project = "django-scim-provider"
author = "django-scim-provider developers"
copyright = "django-scim-provider developers"
release = __version__
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"show-inheritance": True}

exclude_patterns = ["_build", "snippets/README.rst"]
html_theme = "furo"
html_title = f"django-scim-provider {release}"
