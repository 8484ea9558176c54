"""``manage.py scim_prune_log [--days N] [--dry-run]``: delete old provisioning log entries."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from ...conf import scim_settings
from ...models import ProvisioningLog


class Command(BaseCommand):
    help = (
        "Delete provisioning log entries older than --days days "
        '(default: SCIM["LOG_RETENTION_DAYS"]). Run it daily, e.g. from cron.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None, help="Keep entries younger than this.")
        parser.add_argument("--dry-run", action="store_true", help="Count what would go; delete nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        days = options["days"]
        if days is None:
            days = scim_settings.LOG_RETENTION_DAYS
            if days is None:
                self.stderr.write('SCIM["LOG_RETENTION_DAYS"] is None and no --days given: nothing deleted.')
                return
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        cutoff = timezone.now() - timedelta(days=days)
        old = ProvisioningLog.objects.filter(created__lt=cutoff)
        if options["dry_run"]:
            self.stdout.write(f"{old.count()} entries older than {days} days would be deleted.")
            return
        # One DELETE statement: no model has a foreign key to the log, so Django need not
        # collect rows first.
        count, _by_model = old.delete()
        self.stdout.write(f"Deleted {count} entries older than {days} days.")
