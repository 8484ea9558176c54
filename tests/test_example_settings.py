"""The example project's ``DATABASE_URL`` parsing (its settings module docstring).

Django reads two PostgreSQL options typed: ``server_side_binding`` only when it ``is True`` and
``prepare_threshold`` as a number. The suite passes with both on (prepared statements), so a
site, and ``benchmarks/run.py --prepared-statements``, may turn them on from the URL.
"""

from __future__ import annotations

import pytest

from example_project.config.settings import database_from_url


def test_url_options_are_typed_for_django_and_psycopg() -> None:
    entry = database_from_url("postgres://scim:pw@db:5433/site?server_side_binding=true&prepare_threshold=5")
    assert entry["OPTIONS"] == {"server_side_binding": True, "prepare_threshold": 5}
    assert (entry["HOST"], entry["PORT"], entry["NAME"], entry["USER"]) == ("db", 5433, "site", "scim")


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("server_side_binding=false", {"server_side_binding": False}),
        ("prepare_threshold=none", {"prepare_threshold": None}),
        ("sslmode=require", {"sslmode": "require"}),
        ("", {}),
    ],
)
def test_other_url_options_pass_as_given(query: str, options: dict[str, object]) -> None:
    assert database_from_url(f"postgres://h/db?{query}")["OPTIONS"] == options
