"""The set-up flow, declared once: this list drives the workers, the snapshot, the pages, the JSON
API and the docs. Read it top to bottom to follow a set-up."""

import secrets
from dataclasses import dataclass
from typing import Awaitable, Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from integrations import steps
from integrations.models import Integration, SetupStep


@dataclass(frozen=True)
class StepSpec:
    name: str
    label: str
    run: Callable[..., Awaitable]


STEPS: tuple[StepSpec, ...] = (
    StepSpec("create_connection", "Create the Fivetran connection", steps.create_connection),
    StepSpec("connect_card", "Connect your account", steps.connect_card),
    StepSpec("load_schema", "Read the source's schema", steps.load_schema),
    StepSpec("select_tables", "Choose tables", steps.select_tables),
    StepSpec("update_schema", "Save the table selection", steps.update_schema),
    StepSpec("start_sync", "Start the sync", steps.start_sync),
    StepSpec("historical_sync", "Copy the history", steps.historical_sync),
    StepSpec("register_tables", "Register the BigQuery tables", steps.register_tables_step),
)
STEP_BY_NAME = {spec.name: spec for spec in STEPS}
STEP_NAMES = tuple(spec.name for spec in STEPS)


def schema_name_for(team_id: int, service_id: str) -> str:
    """A BigQuery dataset id unique to one integration: team, service and a random suffix."""
    return f"t{team_id}_{service_id}_{secrets.token_hex(3)}"


def integration_create(*, team, user, service) -> Integration:
    for _ in range(5):
        try:
            with transaction.atomic():
                integration = Integration.objects.create(
                    team=team,
                    service=service.id,
                    name=service.name,
                    schema_name=schema_name_for(team.pk, service.id),
                    created_by=user,
                )
                now = timezone.now()
                SetupStep.objects.bulk_create(
                    SetupStep(
                        integration=integration,
                        name=spec.name,
                        position=position,
                        due_at=now if position == 0 else None,
                    )
                    for position, spec in enumerate(STEPS)
                )
                return integration
        except IntegrityError:  # the random suffix collided: draw another
            continue
    raise RuntimeError("could not draw a unique schema name")
