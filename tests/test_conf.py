"""The settings object: defaults, dotted paths, unknown names, reload on setting_changed."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.permissions import IsAuthenticated

from django_scim.conf import DEFAULTS, scim_settings


def test_defaults() -> None:
    assert scim_settings.MAX_PAGE_SIZE == DEFAULTS["MAX_PAGE_SIZE"]
    assert scim_settings.PERMISSION_CLASSES == [IsAuthenticated]
    assert set(scim_settings.RESOURCE_TYPES) == {"User", "Group"}


def test_unknown_setting_name_is_an_error() -> None:
    with pytest.raises(AttributeError, match="Invalid SCIM setting"):
        scim_settings.NOT_A_SETTING  # noqa: B018


def test_reload_on_setting_changed() -> None:
    assert scim_settings.MAX_PAGE_SIZE == 1000
    with override_settings(SCIM={"MAX_PAGE_SIZE": 7}):
        assert scim_settings.MAX_PAGE_SIZE == 7
    assert scim_settings.MAX_PAGE_SIZE == 1000


def test_a_setting_read_once_is_an_attribute_until_reload() -> None:
    """A request reads some settings many times: after the first read the value is an attribute
    of the settings object (no ``__getattr__``), and a change of ``SCIM`` drops it."""
    scim_settings.reload()
    assert "MAX_PAGE_SIZE" not in vars(scim_settings)
    assert scim_settings.MAX_PAGE_SIZE == 1000
    assert vars(scim_settings)["MAX_PAGE_SIZE"] == 1000
    with override_settings(SCIM={"MAX_PAGE_SIZE": 7}):
        assert "MAX_PAGE_SIZE" not in vars(scim_settings)
        assert scim_settings.MAX_PAGE_SIZE == 7
    assert "MAX_PAGE_SIZE" not in vars(scim_settings)
    assert scim_settings.MAX_PAGE_SIZE == 1000


def test_import_error_names_the_setting() -> None:
    with override_settings(SCIM={"AUTHENTICATION_CLASSES": ["nowhere.Auth"]}):
        with pytest.raises(ImportError, match="AUTHENTICATION_CLASSES"):
            scim_settings.AUTHENTICATION_CLASSES  # noqa: B018


def test_resource_types_merge_over_defaults() -> None:
    with override_settings(SCIM={"RESOURCE_TYPES": {"Group": {"MODEL": "testapp.Team"}}}):
        types = scim_settings.RESOURCE_TYPES
        assert types["User"] == DEFAULTS["RESOURCE_TYPES"]["User"]
        assert types["Group"] == {
            "ADAPTER": "django_scim.adapters.groups.GroupAdapter",
            "MODEL": "testapp.Team",
        }
    with override_settings(SCIM={"RESOURCE_TYPES": {"Group": None}}):
        assert list(scim_settings.RESOURCE_TYPES) == ["User"]
