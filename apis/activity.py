"""Counts of issued tokens per day, per API and per application, for the admin."""

from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone

from apis.models import TokenRecord, TokenRequestFailure

ACTIVITY_DAYS = 14
TOP_APPLICATIONS = 10
RECENT_FAILURES = 20


def _rows(counts, days, label_of):
    """Turn {(label, day): count} into rows of (label, [(day, count, percent)])."""
    peak = max(counts.values(), default=0) or 1
    labels = sorted({label for label, _ in counts})
    return [
        (
            label_of(label),
            [
                (
                    day,
                    counts.get((label, day), 0),
                    100 * counts.get((label, day), 0) // peak,
                )
                for day in days
            ],
        )
        for label in labels
    ]


def activity_summary(days_back):
    """Return the context of the activity page, in a fixed number of queries."""
    today = timezone.now().date()
    days = [today - timedelta(days=offset) for offset in range(days_back - 1, -1, -1)]
    recent = TokenRecord.objects.filter(
        issued_at__gte=timezone.now() - timedelta(days=days_back)
    ).annotate(day=TruncDate("issued_at"))

    per_api = {
        (row["audience"], row["day"]): row["total"]
        for row in recent.values("audience", "day").annotate(total=Count("id"))
    }
    top_clients = [
        row["client_id"]
        for row in recent.values("client_id")
        .annotate(total=Count("id"))
        .order_by("-total")[:TOP_APPLICATIONS]
    ]
    per_client = {
        (row["client_id"], row["day"]): row["total"]
        for row in recent.filter(client_id__in=top_clients)
        .values("client_id", "day")
        .annotate(total=Count("id"))
    }
    return {
        "days": days,
        "per_api": _rows(per_api, days, str),
        "per_application": _rows(per_client, days, str),
        "total": sum(per_api.values()),
        "failures": list(TokenRequestFailure.objects.all()[:RECENT_FAILURES]),
    }
