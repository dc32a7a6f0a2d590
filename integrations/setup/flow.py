"""The set-up flow: the steps of integrations.vocabulary, each bound to the function that runs it.
The one list drives the workers, the snapshot, the pages, the JSON API and the docs."""

import secrets
from dataclasses import dataclass
from typing import Awaitable, Callable

from django.db import IntegrityError, transaction

from integrations.models import Integration, SetupStep
from integrations.setup import steps
from integrations.vocabulary import SETUP_STEPS, STEP_NAMES


@dataclass(frozen=True)
class StepSpec:
    name: str
    label: str
    run: Callable[..., Awaitable]


# Each step of integrations.vocabulary.SETUP_STEPS (the order and the labels), run by:
_RUNS = {
    "create_connection": steps.create_connection,
    "connect_card": steps.connect_card,
    "load_schema": steps.load_schema,
    "select_tables": steps.select_tables,
    "update_schema": steps.update_schema,
    "start_sync": steps.start_sync,
    "historical_sync": steps.historical_sync,
    "register_tables": steps.register_tables_step,
}
assert set(_RUNS) == set(STEP_NAMES), "every step in the vocabulary has exactly one function"
STEPS: tuple[StepSpec, ...] = tuple(StepSpec(name, label, _RUNS[name]) for name, label in SETUP_STEPS)
STEP_BY_NAME = {spec.name: spec for spec in STEPS}


def schema_name_for(team_id: int, service_id: str) -> str:
    """A BigQuery dataset id unique to one integration: team, service and a random suffix."""
    return f"t{team_id}_{service_id}_{secrets.token_hex(3)}"


def integration_create(*, team, user, service, name: str | None = None) -> Integration:
    """`name`: what people call it (integrations.setup.starting picks a unique one); the service's by default."""
    for _ in range(5):
        try:
            with transaction.atomic():
                integration = Integration.objects.create(
                    team=team,
                    service=service.id,
                    name=name or service.name,
                    schema_name=schema_name_for(team.pk, service.id),
                    created_by=user,
                )
                SetupStep.objects.bulk_create(
                    SetupStep(integration=integration, name=spec.name, position=position)
                    for position, spec in enumerate(STEPS)
                )
                return integration
        except IntegrityError:  # the random suffix collided: draw another
            continue
    raise RuntimeError("could not draw a unique schema name")
