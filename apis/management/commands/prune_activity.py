from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from apis.models import TokenRecord, TokenRequestFailure


class Command(BaseCommand):
    help = (
        "Delete token records and refused token requests older than the "
        "retention period (GATEHOUSE_ACTIVITY_RETENTION_DAYS). Run it daily."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Keep this many days instead of the setting.",
        )

    def handle(self, *args, days, **options):
        days = settings.GATEHOUSE_ACTIVITY_RETENTION_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be 1 or more.")
        cutoff = timezone.now() - timedelta(days=days)
        tokens, _ = TokenRecord.objects.filter(issued_at__lt=cutoff).delete()
        failures, _ = TokenRequestFailure.objects.filter(created_at__lt=cutoff).delete()
        self.stdout.write(
            f"Deleted {tokens} token records and {failures} refused requests older "
            f"than {days} days."
        )
