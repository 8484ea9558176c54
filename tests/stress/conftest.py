"""The ``stress`` marker: tests that run the example project under gunicorn on PostgreSQL."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "stress: concurrency stress test against gunicorn on PostgreSQL (DATABASE_URL)"
    )
