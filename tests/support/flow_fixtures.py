"""A whole set-up environment for flow tests: the Fivetran emulator writing into the BigQuery
stand-in, settings pointed at both and at the session's Temporal dev server, the set-up's Temporal
worker on a task queue of the test's own, a demo team, and a driver that waits for a state."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from connectors import fivetran
from connectors.catalogue import get_catalogue
from integrations.engine import dispatch
from integrations.engine import worker as setup_worker
from integrations.models import Integration, IntegrationEvent
from integrations.setup.flow import integration_create
from integrations.state import connect_card_return
from integrations.state.events import envelope
from teams.models import Team
from tests.support.fivetran_fixtures import GROUP_ID, running_emulator

SYNC_SECONDS = 0.6


@pytest.fixture(scope="session")
def flow_emulator(bigquery_standin):  # noqa: F811
    with tempfile.TemporaryDirectory(prefix="flow-emulator-") as data_dir:
        with running_emulator(
            Path(data_dir),
            sync_seconds=SYNC_SECONDS,
            bigquery_endpoint=bigquery_standin.endpoint,
            bigquery_project=bigquery_standin.project,
        ) as running:
            yield running


@pytest.fixture
def flow_settings(settings, flow_emulator, bigquery_standin):  # noqa: F811
    settings.FIVETRAN_API_URL = flow_emulator.api_url
    settings.FIVETRAN_API_KEY = flow_emulator.api_key
    settings.FIVETRAN_API_SECRET = flow_emulator.api_secret
    settings.FIVETRAN_GROUP_ID = GROUP_ID
    settings.FIVETRAN_WEBHOOK_SECRET = None
    settings.SETUP_POLL_WITHOUT_WEBHOOKS = (0.1, 0.2)
    settings.SETUP_TABLES_GRACE_SECONDS = 2
    settings.SETUP_ACTIVITY_HEARTBEAT_SECONDS = 10
    settings.BIGQUERY_API_ENDPOINT = bigquery_standin.endpoint
    settings.BIGQUERY_PROJECT = bigquery_standin.project
    settings.PUBLIC_URL = "http://testserver"
    fivetran._clients.clear()  # the shared client must be rebuilt from these settings
    flow_emulator.clear_faults()
    yield settings
    fivetran._clients.clear()


@pytest.fixture
def team_user(db):
    user = get_user_model().objects.create_user(username=f"user{time.monotonic_ns()}", password="pw")
    team = Team.objects.create(name="Team")
    team.members.add(user)
    return team, user


def new_integration(team, user, service_id: str) -> Integration:
    return integration_create(team=team, user=user, service=get_catalogue().get(service_id))


@pytest_asyncio.fixture(loop_scope="function")
async def setup_worker_running(flow_settings, temporal_settings, temporal_task_queue):
    """The set-up's Temporal worker in the test's loop, on a task queue no other test uses."""
    flow_settings.TEMPORAL_TASK_QUEUE = temporal_task_queue
    running = await setup_worker.start_in_process(task_queue=temporal_task_queue)
    yield running
    await running.stop()


async def start_setup(team_user, service_id: str) -> "Driver":
    """Create an integration and start its workflow, as the connector page does."""
    team, user = team_user
    integration = await sync_to_async(new_integration)(team, user, service_id)
    await dispatch.start_setup(integration.pk)
    return Driver(integration.pk)


class Driver:
    """Follows one integration's set-up, run by its workflow, until it reaches a state."""

    def __init__(self, integration_id: int):
        self.integration_id = integration_id

    async def state(self) -> Integration:
        return await Integration.objects.aget(pk=self.integration_id)

    async def step(self, name: str):
        integration = await self.state()
        return await integration.steps.aget(name=name)

    async def run_until(self, predicate, timeout: float = 30.0) -> Integration:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            integration = await self.state()
            if await predicate(integration):
                return integration
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out; last state {integration.state}: {await self.describe()}")

    async def until_state(self, *states: str, timeout: float = 30.0) -> Integration:
        async def reached(integration):
            return integration.state in states

        return await self.run_until(reached, timeout)

    async def until_waiting(self, step_name: str, timeout: float = 30.0) -> Integration:
        async def waiting(integration):
            step = await integration.steps.aget(name=step_name)
            return step.state == "waiting_for_user"

        return await self.run_until(waiting, timeout)

    async def describe(self) -> list[tuple[str, str, str]]:
        integration = await self.state()
        return [(s.name, s.state, s.message) async for s in integration.steps.order_by("position")]

    async def events(self) -> list[dict]:
        return [
            envelope(event)
            async for event in IntegrationEvent.objects.filter(integration_id=self.integration_id).order_by("seq")
        ]

    async def progress_messages(self) -> list[str]:
        return [e["data"]["message"] for e in await self.events() if e["type"] == "step.progress"]

    async def return_from_card(self, emulator, *, complete: bool = True) -> None:
        """What the user's browser does: finish the Connect Card and come back through our return URL."""
        integration = await self.state()
        if complete:
            emulator.complete_card(integration.connection_id)
        redirect_uri = parse_qs(urlparse(integration.connect_card_uri).query)["redirect_uri"][0]
        token = parse_qs(urlparse(redirect_uri).query)["token"][0]
        await sync_to_async(connect_card_return.connect_card_returned)(self.integration_id, token)
        await dispatch.card_returned(self.integration_id)

    async def connect_and_choose(self, emulator, fault: str | None = None, **options) -> None:
        """Connect (with an optional fault injected on the new connection) and choose every table."""
        integration = await self.until_waiting("connect_card")
        if fault:
            emulator.fault(fault, connection_id=integration.connection_id, **options)
        await self.return_from_card(emulator)
        await self.until_waiting("select_tables")
        await self.choose_tables()

    async def choose_tables(self, selected: dict | None = None) -> dict:
        integration = await self.state()
        if selected is None:  # everything the user may choose
            selected = {
                schema["name"]: [t["name"] for t in schema["tables"] if not t["locked"]]
                for schema in integration.source_schema["schemas"]
            }
            selected = {schema: tables for schema, tables in selected.items() if tables}
        await dispatch.select_tables(self.integration_id, selected)
        return selected
