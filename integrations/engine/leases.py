"""The step rows as a work queue: which due steps a worker leases, and keeping a lease alive."""

from datetime import timedelta

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.models import SetupStep


def steps_claim_due(*, owner: str, limit: int, lease_seconds: float, exclude=()) -> list[int]:
    """Lease up to `limit` steps that are due, or whose worker's lease expired (it died)."""
    now = timezone.now()
    claimable = Q(due_at__lte=now, lease_until__isnull=True) | Q(lease_until__lt=now)
    with transaction.atomic():
        due = SetupStep.objects.filter(claimable).exclude(pk__in=list(exclude)).order_by("due_at")
        if db_connection.vendor == "postgresql":
            # Workers on other machines skip rows we hold instead of queueing behind them.
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("pk", flat=True)[:limit])
        # SQLite has no row locks; its IMMEDIATE transactions serialise claimers, and the repeated
        # condition makes the claim a compare-and-set on both databases. While leased a step is not
        # due: a webhook that wants it re-checked sets due_at again, and step_check_later keeps that.
        SetupStep.objects.filter(claimable, pk__in=ids).update(
            lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds), due_at=None
        )
        return list(SetupStep.objects.filter(pk__in=ids, lease_owner=owner).values_list("pk", flat=True))


def step_renew_lease(step_id: int, *, owner: str, lease_seconds: float) -> bool:
    return bool(
        SetupStep.objects.filter(pk=step_id, lease_owner=owner).update(
            lease_until=timezone.now() + timedelta(seconds=lease_seconds)
        )
    )
