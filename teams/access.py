"""The one team access check. Every view, API endpoint and consumer loads team-owned objects here.

An object of another team answers exactly like a missing one (404), so ids never leak.
"""

from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404

M = TypeVar("M", bound=Model)


def team_object_or_404(queryset: QuerySet[M], user, **lookup) -> M:
    if user is None or not user.is_authenticated:
        raise Http404("Not found")
    obj = queryset.filter(team__members=user, **lookup).first()
    if obj is None:
        raise Http404("Not found")
    return obj


def user_team(user):
    """The team a new integration belongs to: the user's first team."""
    return user.teams.order_by("pk").first()
