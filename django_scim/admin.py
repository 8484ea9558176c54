from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import ScimGroup, ScimToken, ScimUser


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "created", "last_used", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    readonly_fields = ("prefix", "created", "last_used")
    fields = ("name", "prefix", "created", "last_used", "revoked_at")
    actions = ["revoke"]

    def save_model(self, request: HttpRequest, obj: ScimToken, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = ScimToken.issue(obj.name)
        obj.pk, obj.key_hash, obj.prefix, obj.created = token.pk, token.key_hash, token.prefix, token.created
        obj._state.adding = False
        # Shown once: only the hash is stored.
        self.message_user(
            request, _("New SCIM token (copy it now, it is not shown again): %s") % raw, messages.WARNING
        )

    @admin.action(description=_("Revoke selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ScimToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, _("%d token(s) revoked.") % count)


class CompanionAdmin(admin.ModelAdmin):
    list_display = ("id", "resource", "external_id", "version", "last_modified")
    search_fields = ("id", "external_id")
    readonly_fields = ("id", "resource", "version", "created", "last_modified")
    list_select_related = ("resource",)


admin.site.register(ScimUser, CompanionAdmin)
admin.site.register(ScimGroup, CompanionAdmin)
