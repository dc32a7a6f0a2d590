"""One line per integration, as the integrations list shows it and the team socket streams it:
its set-up state, and once Ready its connection's health in Fivetran's words and its last sync."""

from __future__ import annotations

from django.urls import reverse

from integrations.models import Integration
from integrations.state.events import isoformat
from integrations.vocabulary import CONNECTION_HEALTH_LABELS, INTEGRATION_STATE_LABELS, IntegrationState

FIELDS = ("pk", "name", "service", "state", "health", "health_reason", "succeeded_at", "failed_at")


def summary(integration: Integration) -> dict:
    ready = integration.state == IntegrationState.READY
    return {
        "id": integration.pk,
        "name": integration.name,
        "service": integration.service,
        "state": integration.state,
        "state_label": INTEGRATION_STATE_LABELS.get(integration.state, integration.state),
        "health": integration.health if ready else None,
        "health_label": CONNECTION_HEALTH_LABELS.get(integration.health, integration.health) if ready else None,
        "reason": integration.health_reason if ready else "",
        "succeeded_at": isoformat(integration.succeeded_at),
        "failed_at": isoformat(integration.failed_at),
        "url": reverse("integrations:connection" if ready else "integrations:flow", args=[integration.pk]),
    }


def team_summaries(user) -> dict[int, dict]:
    """Every integration of the user's teams, by id."""
    integrations = Integration.objects.filter(team__members=user).only(*FIELDS).order_by("pk")
    return {integration.pk: summary(integration) for integration in integrations}


def summary_of(user, integration_id: int) -> dict | None:
    """The integration's line, or None if it is gone or not the user's."""
    integration = Integration.objects.filter(team__members=user, pk=integration_id).only(*FIELDS).first()
    return summary(integration) if integration else None
