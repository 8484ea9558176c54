"""System checks: the mapping audit (manage.py check)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import checks

from django_scim.adapters.groups import GroupAdapter
from django_scim.checks import check_scim_settings
from django_scim.orm.mapping import Computed
from tests.conftest import ScimClient


def _ids() -> list[str]:
    return [m.id or "" for m in check_scim_settings()]


def test_default_configuration_is_clean() -> None:
    assert [m for m in check_scim_settings() if m.level >= checks.ERROR] == []


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"User": {"ATTRIBUTE_MAP": {"title": "no_such_field"}}}})
def test_unknown_model_field_is_an_error() -> None:
    assert "django_scim.E003" in _ids()


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"User": {"ATTRIBUTE_MAP": {"notAnAttribute": "username"}}}})
def test_unknown_scim_attribute_is_an_error() -> None:
    assert "django_scim.E003" in _ids()


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"User": {"ADAPTER": "nowhere.Adapter"}}})
def test_bad_adapter_path_is_an_error() -> None:
    assert "django_scim.E002" in _ids()


@pytest.mark.scim_settings({"NOT_A_SETTING": 1})
def test_unknown_setting_is_an_error() -> None:
    assert "django_scim.E001" in _ids()


class NoMembersGroupAdapter(GroupAdapter):
    members_relation = "no_such_relation"


class ColumnMembersGroupAdapter(GroupAdapter):
    members_relation = "name"


@pytest.mark.parametrize("adapter", ["NoMembersGroupAdapter", "ColumnMembersGroupAdapter"])
def test_members_relation_must_be_many_to_many(adapter: str, settings: Any) -> None:
    """Group ``members`` (RFC 7643 section 4.2) are rows of a many-to-many relation: a
    ``members_relation`` naming no relation, or a plain column, is an error of
    ``manage.py check`` rather than a 500 at the first membership PATCH."""
    settings.SCIM = {"RESOURCE_TYPES": {"Group": {"ADAPTER": f"tests.test_checks.{adapter}"}}}
    messages = [m.msg for m in check_scim_settings() if m.id == "django_scim.E003"]
    assert len(messages) == 1
    assert "members_relation" in messages[0]


def test_default_members_relation_is_many_to_many() -> None:
    m2m, declared_by_member = GroupAdapter().members_field()
    assert (m2m.model._meta.label, m2m.name, declared_by_member) == ("auth.User", "groups", True)


class ComputedNameGroupAdapter(GroupAdapter):
    """displayName computed in Python: readable, but not filterable in SQL."""

    attribute_map = {"displayName": Computed(lambda group: group.name)}


@pytest.mark.scim_settings(
    {"RESOURCE_TYPES": {"Group": {"ADAPTER": "tests.test_checks.ComputedNameGroupAdapter"}}}
)
@pytest.mark.django_db
def test_lookup_attribute_that_cannot_be_filtered_warns_and_is_400(scim: ScimClient) -> None:
    """Identity providers look groups up by displayName: the audit warns (W001), and the filter
    is a 400 invalidFilter at run time, never a silent empty result (RFC 7644 section 3.4.2.2)."""
    messages = [m for m in check_scim_settings() if m.id == "django_scim.W001"]
    assert any("Group" in m.msg and "displayName" in m.msg for m in messages)
    response = scim.get_scim('/Groups?filter=displayName eq "Admins"')
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"
