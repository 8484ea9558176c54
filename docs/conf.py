"""Sphinx configuration of the django-scim-provider documentation."""

from __future__ import annotations

import re
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
# Read the version without importing the package, so building the docs needs no Django settings.
_VERSION = re.search(
    r'^__version__ = "([^"]+)"', (_ROOT / "django_scim" / "__init__.py").read_text(encoding="utf-8"), re.M
)

project = "django-scim-provider"
author = "django-scim-provider developers"
copyright = "django-scim-provider developers"
release = _VERSION.group(1) if _VERSION else "unknown"
version = ".".join(release.split(".")[:2])

extensions = ["sphinx.ext.autodoc"]

exclude_patterns = ["_build"]
html_theme = "furo"
html_title = f"django-scim-provider {release}"
