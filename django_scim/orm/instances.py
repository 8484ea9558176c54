"""Model instances from the rows of cached statements, as the ORM makes them.

``Model.from_db`` runs ``Model.__init__``, which walks every concrete field and sends
``pre_init`` and ``post_init`` for each instance: for a page of 100 groups (200 instances with
their companions) that was the largest single cost under cProfile, a sixth of the request. Where
it makes no difference, :func:`instance_maker` builds the same instance directly (its field
values in ``__dict__``, a fresh ``ModelState`` marked as loaded from the database). It makes no
difference when the model keeps Django's ``__new__``, ``__init__`` and ``from_db``, no receiver
listens to ``pre_init`` or ``post_init`` for it, and every column read is held by Django's own
descriptor for a column, which stores the value as it comes. Any other model goes through
``Model.from_db``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from inspect import getattr_static
from typing import Any

from django.db import models
from django.db.models.base import ModelState
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init

#: Django's descriptors of a column: ``__set__`` (where there is one) stores the value as it is.
_PLAIN_DESCRIPTORS = (DeferredAttribute, models.fields.related_descriptors.ForeignKeyDeferredAttribute)


def instance_maker(
    model: type[models.Model], alias: str, names: Sequence[str]
) -> Callable[[Sequence[Any]], Any]:
    """A function of a row of the columns ``names`` (attnames, in the model's field order)
    that returns ``model.from_db(alias, names, row)``, or the same instance built directly."""
    if pre_init.has_listeners(model) or post_init.has_listeners(model) or not _plain(model, tuple(names)):
        return lambda row: model.from_db(alias, names, row)
    new = model.__new__
    columns = tuple(names)

    def make(row: Sequence[Any]) -> Any:
        obj = new(model)
        obj.__dict__.update(zip(columns, row, strict=True))
        state = obj._state = ModelState()
        state.adding = False
        state.db = alias
        return obj

    return make


@functools.cache
def _plain(model: type[models.Model], names: tuple[str, ...]) -> bool:
    """Whether ``Model.__init__`` would only store the values of ``names`` (see the module)."""
    base = models.Model
    if model._meta.abstract or model.__new__ is not base.__new__ or model.__init__ is not base.__init__:
        return False
    if getattr(model.from_db, "__func__", None) is not base.from_db.__func__:  # type: ignore[attr-defined]
        return False
    known = {field.attname for field in model._meta.concrete_fields}
    return all(
        name in known and type(getattr_static(model, name, None)) in _PLAIN_DESCRIPTORS for name in names
    )
