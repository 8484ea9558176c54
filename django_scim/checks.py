"""System checks (``manage.py check``): the SCIM configuration and the attribute-map audit.

Ids are stable: ``django_scim.E001``... for errors, ``django_scim.W001``... for warnings.
"""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .conf import scim_settings

#: Attributes identity providers look resources up by before every write (shared/README:
#: Microsoft Entra ID matches users by userName / externalId / work e-mail, groups by
#: displayName; Okta by userName). A mapping that cannot filter on them makes the identity
#: provider create duplicates.
LOOKUP_ATTRIBUTES: dict[str, tuple[str, ...]] = {
    "User": ("userName", "externalId", 'emails[type eq "work"].value'),
    "Group": ("displayName", "externalId"),
}


@checks.register()
def check_scim_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    from .adapters.registry import get_adapter
    from .models import get_tenant_model

    messages: list[checks.CheckMessage] = []
    for name in scim_settings.unknown_settings():
        messages.append(checks.Error(f"SCIM[{name!r}] is not a setting.", id="django_scim.E001"))
    try:
        get_tenant_model()
    except ImproperlyConfigured as exc:
        messages.append(checks.Error(str(exc), id="django_scim.E004"))
    try:
        names = list(scim_settings.RESOURCE_TYPES)
    except (ImportError, AttributeError) as exc:
        return [*messages, checks.Error(str(exc), id="django_scim.E002")]
    for name in names:
        try:
            adapter = get_adapter(name)
            adapter.get_model()
            adapter.get_companion_model()
            problems = adapter.check_configuration()
            # A mapping with problems is not audited further: its filters fail on them too.
            lookups = () if problems else LOOKUP_ATTRIBUTES.get(name, ())
            unfiltered = [path for path in lookups if not adapter.can_filter(path)]
        except (ImproperlyConfigured, ImportError, LookupError, ValueError) as exc:
            messages.append(checks.Error(f"SCIM resource type {name!r}: {exc}", id="django_scim.E002"))
            continue
        for problem in problems:
            messages.append(checks.Error(f"SCIM resource type {name!r}: {problem}", id="django_scim.E003"))
        for path in unfiltered:
            messages.append(
                checks.Warning(
                    f"SCIM resource type {name!r}: identity providers look resources up by "
                    f"{path!r}, which this mapping cannot filter on.",
                    hint="Map the attribute to a model field, or store it where filters reach.",
                    id="django_scim.W001",
                )
            )
    return messages
