"""Instances built from cached rows are the ones ``Model.from_db`` makes (issue 7).

:func:`django_scim.orm.instances.instance_maker` skips ``Model.__init__`` only where it would
make no difference: these tests compare both ways field by field, and check that a model that
could tell (an ``__init__`` of its own, a ``post_init`` receiver) gets ``from_db``.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import DEFAULT_DB_ALIAS, models
from django.db.models.signals import post_init

from django_scim.models import ScimUser
from django_scim.orm.instances import instance_maker
from tests.testapp.models import OrgAccount, Organization

pytestmark = pytest.mark.django_db


def _columns(model: type[Any], names: list[str]) -> tuple[list[str], tuple[Any, ...]]:
    (row,) = model._default_manager.values_list(*names)
    return names, row


def _same(built: Any, loaded: Any) -> None:
    assert type(built) is type(loaded)
    assert {k: v for k, v in vars(built).items() if k != "_state"} == {
        k: v for k, v in vars(loaded).items() if k != "_state"
    }
    assert (built._state.adding, built._state.db) == (False, DEFAULT_DB_ALIAS)
    assert (loaded._state.adding, loaded._state.db) == (False, DEFAULT_DB_ALIAS)
    assert built.get_deferred_fields() == loaded.get_deferred_fields()
    assert built.pk == loaded.pk


@pytest.mark.parametrize(
    "names",
    [
        [f.attname for f in User._meta.concrete_fields],
        ["id", "username", "first_name", "last_name", "email", "is_active"],  # a page's columns
    ],
)
def test_a_user_is_the_one_from_db_makes(names: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    User.objects.create(username="ann", first_name="Ann", email="a@example.com", password="x")
    names, row = _columns(User, names)
    inits: list[Any] = []
    django_init = models.Model.__init__

    def counted(self: Any, *args: Any, **kwargs: Any) -> None:
        inits.append(self)
        django_init(self, *args, **kwargs)

    monkeypatch.setattr(models.Model, "__init__", counted)
    built = instance_maker(User, DEFAULT_DB_ALIAS, names)(row)
    assert inits == []  # built directly
    loaded = User.from_db(DEFAULT_DB_ALIAS, names, row)
    assert inits == [loaded]
    monkeypatch.undo()
    _same(built, loaded)
    assert built is not instance_maker(User, DEFAULT_DB_ALIAS, names)(row)
    # A deferred field loads on access, as on any deferred instance; the instance saves.
    if "password" not in names:
        assert built.password == "x"
    built.first_name = "Anne"
    built.save(update_fields=["first_name"])
    assert User.objects.get().first_name == "Anne"


def test_a_companion_and_a_foreign_key_column() -> None:
    """A JSONField, a UUID key, timestamps; and a foreign key's ``_id`` column, whose related
    object loads on access."""
    user = User.objects.create(username="bob")
    ScimUser.objects.create(resource=user, external_id="x1", attributes={"nickName": "b"})
    names = [f.attname for f in ScimUser._meta.concrete_fields]
    names, row = _columns(ScimUser, names)
    built = instance_maker(ScimUser, DEFAULT_DB_ALIAS, names)(row)
    _same(built, ScimUser.from_db(DEFAULT_DB_ALIAS, names, row))
    assert built.resource == user
    account = OrgAccount.objects.create(organization=Organization.objects.create(name="o"), username="c")
    names, row = _columns(OrgAccount, ["id", "organization_id", "username"])
    built = instance_maker(OrgAccount, DEFAULT_DB_ALIAS, names)(row)
    _same(built, OrgAccount.from_db(DEFAULT_DB_ALIAS, names, row))
    assert built.organization == account.organization


class CountedUser(User):
    """A model with an ``__init__`` of its own: it must run."""

    made = 0

    class Meta:
        proxy = True
        app_label = "testapp"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        type(self).made += 1


def test_a_model_with_its_own_init_goes_through_it() -> None:
    User.objects.create(username="dee")
    names, row = _columns(User, ["id", "username"])
    before = CountedUser.made
    built = instance_maker(CountedUser, DEFAULT_DB_ALIAS, names)(row)
    assert CountedUser.made == before + 1
    assert isinstance(built, CountedUser)


def test_a_post_init_receiver_sees_every_instance() -> None:
    User.objects.create(username="eve")
    names, row = _columns(User, ["id", "username"])
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance)

    post_init.connect(receiver, sender=User)
    try:
        built = instance_maker(User, DEFAULT_DB_ALIAS, names)(row)
    finally:
        post_init.disconnect(receiver, sender=User)
    assert seen == [built]
    # Without the receiver the direct path is back, and builds the same instance.
    _same(instance_maker(User, DEFAULT_DB_ALIAS, names)(row), built)
