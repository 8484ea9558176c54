"""Extending adapters: subclass mapping, computed values, related fields, hooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import FieldDoesNotExist
from django.test import override_settings
from django.urls import set_script_prefix

from django_scim.adapters.users import UserAdapter
from django_scim.core.errors import Forbidden
from django_scim.orm.mapping import AttributeMapping, Computed, Field
from tests.conftest import ScimClient, create_user, db_state

pytestmark = pytest.mark.django_db

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


class SiteUserAdapter(UserAdapter):
    """A site's adapter: displayName computed, title stored in a model field, a guard hook."""

    attribute_map: Mapping[str, AttributeMapping | str] = {
        "userName": Field("username"),
        "name.givenName": Field("first_name"),
        "title": Field("last_name"),
        "displayName": Computed(lambda user: f"{user.first_name} {user.last_name}".strip() or None),
    }

    def pre_save(self, obj: Any, document: Mapping[str, Any], *, created: bool) -> None:
        if obj.username.startswith("admin"):
            raise Forbidden("Identity providers may not provision admin accounts.")


SITE = {"RESOURCE_TYPES": {"User": {"ADAPTER": "tests.test_adapters.SiteUserAdapter"}}}


@pytest.mark.scim_settings(SITE)
def test_computed_attribute_is_read_only(scim: ScimClient) -> None:
    created = create_user(scim, name={"givenName": "Ada"}, title="Byron", displayName="ignored")
    assert created["displayName"] == "Ada Byron"
    assert "displayName" not in scim.get_scim(f"/Users/{created['id']}?excludedAttributes=displayName").json()


@pytest.mark.scim_settings(SITE)
def test_subclass_maps_more_fields(scim: ScimClient) -> None:
    create_user(scim, title="Guide", emails=[{"value": "b@example.com"}])
    user = User.objects.get(username="bjensen")
    assert user.last_name == "Guide"
    # emails is not mapped by this adapter: kept in the JSONField, not in user.email.
    assert user.email == ""


@pytest.mark.scim_settings(SITE)
def test_hook_can_refuse_a_write(scim: ScimClient) -> None:
    before = db_state()
    response = scim.scim("POST", "/Users", {"schemas": [USER], "userName": "admin-2"})
    assert response.status_code == 403
    assert response.json()["status"] == "403"
    assert db_state() == before


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"User": {"ATTRIBUTE_MAP": {"title": "last_name"}}}})
def test_settings_add_a_mapping_without_code(scim: ScimClient) -> None:
    created = create_user(scim, title="Tour Guide")
    assert User.objects.get(username="bjensen").last_name == "Tour Guide"
    assert created["title"] == "Tour Guide"
    found = scim.get_scim('/Users?filter=title eq "tour guide"').json()
    assert found["totalResults"] == 1


@pytest.mark.scim_settings({"RESOURCE_TYPES": {"User": {"NOT_AN_OPTION": 1}}})
def test_unknown_option_is_a_configuration_error(scim: ScimClient) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from django_scim.adapters.registry import get_adapter

    with pytest.raises(ImproperlyConfigured, match="NOT_AN_OPTION"):
        get_adapter("User")


def test_a_request_builds_only_the_adapter_of_its_endpoint(
    scim: ScimClient, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    """Endpoints are found without building the adapters configured before them, and moving a
    resource type to another endpoint (RFC 7643 section 6, ``endpoint``) is followed at once."""
    assert scim.get_scim("/Groups").status_code == 200
    built: list[str] = []
    original = UserAdapter.__init__

    def counting(self: UserAdapter, *args: Any, **kwargs: Any) -> None:
        built.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(UserAdapter, "__init__", counting)
    assert scim.get_scim("/Groups").status_code == 200
    assert built == []
    assert scim.get_scim("/Users").status_code == 200
    assert built == ["UserAdapter"]
    settings.SCIM = {"RESOURCE_TYPES": {"User": {"ENDPOINT": "People"}}}
    assert scim.get_scim("/Users").status_code == 404
    assert scim.get_scim("/People").status_code == 200


def test_locations_follow_the_urlconf_and_script_prefix(scim: ScimClient) -> None:
    """RFC 7644 section 3.1 / RFC 7643 section 3.1: ``meta.location`` is the resource's URI as
    this deployment serves it: the reversed path is remembered, but per URLconf and prefix."""
    created = create_user(scim, userName="ada")
    path = f"/Users/{created['id']}"
    assert scim.get_scim(path).json()["meta"]["location"] == f"http://testserver/scim/v2{path}"
    with override_settings(ROOT_URLCONF="tests.urls_elsewhere"):
        moved = scim.get(f"/provisioning/scim{path}", headers=scim._headers(None))
        assert moved.json()["meta"]["location"] == f"http://testserver/provisioning/scim{path}"
    # Mounted below a script prefix (SCRIPT_NAME, as behind a path-routing proxy): the WSGI
    # handler sets it per request; the test client does not, so it is set here.
    set_script_prefix("/idm/")
    try:
        behind = scim.get_scim(path).json()["meta"]["location"]
    finally:
        set_script_prefix("/")
    assert behind == f"http://testserver/idm/scim/v2{path}"
    assert scim.get_scim(path).json()["meta"]["location"] == f"http://testserver/scim/v2{path}"


class Shouted(Field):
    """A site's mapping that reads more than its field."""

    def read(self, obj: Any, stored: Any) -> Any:
        return f"{obj.username} ({obj.last_name})".upper()


def test_mappings_name_the_columns_their_reads_need() -> None:
    """What a page reads of each row (``render_columns``): a plain field's column, nothing for
    the write-only password (RFC 7643 section 4.1.1, returned never), and "anything" (``None``)
    for a path through a relation, a computed value or a subclass that reads differently."""
    from django_scim.orm.mapping import Password, PrimaryValue

    assert Field("username").columns(User) == ("username",)
    assert PrimaryValue("email").columns(User) == ("email",)
    assert Password().columns(User) == ()
    assert Field("groups").columns(User) is None  # a relation, not a column
    assert Field("profile__title").columns(User) is None
    assert Field("no_such_field").columns(User) is None
    assert Computed(lambda user: user.username, lookup="username").columns(User) is None
    assert Shouted("username").columns(User) is None
    assert AttributeMapping().columns(User) is None
    # A path through a field that is no relation names no field (it was an AttributeError).
    with pytest.raises(FieldDoesNotExist):
        Field("username__title").model_field(User)


@pytest.mark.scim_settings(SITE)
def test_a_computed_value_makes_pages_read_whole_users(scim: ScimClient) -> None:
    """RFC 7644 section 3.4.2: a page of a site whose map computes a value from the instance
    shows it, as a single GET does."""
    create_user(scim, userName="carol", name={"givenName": "Carol"}, title="Ops")
    (listed,) = scim.get_scim("/Users?count=10").json()["Resources"]
    assert listed["displayName"] == "Carol Ops"
    assert scim.get_scim(f"/Users/{listed['id']}").json()["displayName"] == "Carol Ops"


def test_adapters_of_one_configuration_share_their_resource_type() -> None:
    # RFC 7643 section 6: the resource type follows the SCIM settings. The adapters of two
    # requests under one configuration share what was resolved from it; a change of settings
    # resolves it again, and going back finds the first again.
    from django_scim.adapters.registry import get_adapter
    from django_scim.core.constants import ENTERPRISE_USER_SCHEMA

    first, second = get_adapter("User"), get_adapter("User")
    assert first.resource_type is second.resource_type
    assert [keys for _p, keys, _m in first.get_attribute_map()] == [
        keys for _p, keys, _m in second.get_attribute_map()
    ]
    assert ("name", "givenName") in [keys for _p, keys, _m in first.get_attribute_map()]
    with override_settings(SCIM={"RESOURCE_TYPES": {"User": {"EXTENSIONS": []}}}):
        bare = get_adapter("User")
        assert bare.resource_type.extensions == ()
    with override_settings(SCIM={"RESOURCE_TYPES": {"User": {"ATTRIBUTE_MAP": {"title": "last_name"}}}}):
        keys = {path: k for path, k, _m in get_adapter("User").get_attribute_map()}
        assert keys["title"] == ("title",)
    again = get_adapter("User")
    assert [ext.schema.id for ext in again.resource_type.extensions] == [ENTERPRISE_USER_SCHEMA]
    assert "title" not in {path for path, _k, _m in again.get_attribute_map()}


def test_a_schema_given_as_a_dict_and_an_own_path_keys_still_resolve() -> None:
    # Not cached where the inputs are not hashable or a subclass resolves paths its own way.
    from django_scim.schemas import get_schema

    user_schema = get_schema("urn:ietf:params:scim:schemas:core:2.0:User").to_dict()

    class DictSchema(UserAdapter):
        schema = user_schema  # type: ignore[assignment]

        def path_keys(self, path: str) -> tuple[str, ...]:
            return ("mapped", *super().path_keys(path))

    adapter, other = DictSchema(), DictSchema()
    assert adapter.resource_type.schema.id == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert adapter.resource_type is not other.resource_type
    assert all(keys[0] == "mapped" for _p, keys, _m in adapter.get_attribute_map())
