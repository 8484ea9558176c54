"""``manage.py scim_token create NAME | list | revoke NAME_OR_PREFIX``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Q
from django.utils import timezone

from ...models import ScimToken


class Command(BaseCommand):
    help = "Create, list and revoke SCIM bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a token and print it (alone, once) on stdout.")
        create.add_argument("name")
        create.add_argument(
            "--expires-in-days",
            type=int,
            default=None,
            help='Days until the token expires (default: SCIM["TOKEN_EXPIRY_DAYS"], None: never).',
        )
        create.add_argument(
            "--replace",
            action="store_true",
            help="Revoke the active tokens of the same name first (rotation).",
        )
        sub.add_parser("list", help="List tokens (never the tokens themselves).")
        revoke = sub.add_parser("revoke", help="Revoke the active tokens with this name or prefix.")
        revoke.add_argument("name_or_prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            days = options["expires_in_days"]
            if days is not None and days <= 0:
                raise CommandError("--expires-in-days must be 1 or more.")
            if options["replace"]:
                ScimToken.objects.active().filter(name=options["name"]).update(revoked_at=timezone.now())
            expires_at = timezone.now() + timedelta(days=days) if days is not None else None
            _token, raw = ScimToken.issue(options["name"], expires_at=expires_at)
            # The token alone on stdout, so scripts can capture it; it is never shown again.
            self.stdout.write(raw)
        elif action == "list":
            for token in ScimToken.objects.all():
                state = "revoked" if token.revoked_at else "expired" if token.is_expired else "active"
                last = token.last_used.isoformat() if token.last_used else "never"
                self.stdout.write(f"{token.name}\t{token.prefix}…\t{state}\tlast used {last}")
        else:
            key = options["name_or_prefix"]
            count = (
                ScimToken.objects.active()
                .filter(Q(name=key) | Q(prefix=key))
                .update(revoked_at=timezone.now())
            )
            if not count:
                raise CommandError(f"No active token named {key!r} or with prefix {key!r}.")
            self.stderr.write(f"Revoked {count} token(s).")
