"""The worker's queue discipline on the step rows: leases, wake-ups, re-checks."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from integrations.engine import leases
from integrations.engine.runner import Runner
from integrations.models import SetupStep
from integrations.state import transitions as services
from tests.support.flow_fixtures import new_integration

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def integration(team_user):
    team, user = team_user
    return new_integration(team, user, "hubspot")


async def test_a_runner_never_claims_a_step_it_is_still_running(integration, monkeypatch):
    release = asyncio.Event()

    async def slow_step(context):
        await release.wait()
        raise RuntimeError("stop here")

    from integrations.setup import flow

    monkeypatch.setitem(flow.STEP_BY_NAME, "create_connection", flow.StepSpec("create_connection", "x", slow_step))
    runner = Runner(owner="one")
    [task] = await runner.run_due()
    await asyncio.sleep(0.1)
    # Its lease lapses (say renewals failed): another runner may take the step, this one must not.
    await SetupStep.objects.filter(integration=integration, name="create_connection").aupdate(
        lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert await runner.run_due() == []
    assert await Runner(owner="two").run_due() != []
    release.set()
    await asyncio.gather(task, return_exceptions=True)


@sync_to_async
def claim(step: SetupStep, owner: str) -> None:
    SetupStep.objects.filter(integration_id=step.integration_id).update(due_at=None)
    SetupStep.objects.filter(pk=step.pk).update(due_at=timezone.now(), lease_until=None)
    assert leases.steps_claim_due(owner=owner, limit=10, lease_seconds=30) == [step.pk]


async def test_a_webhook_during_a_poll_is_not_overwritten_by_the_poll(integration):
    step = await SetupStep.objects.aget(integration=integration, name="historical_sync")
    await SetupStep.objects.filter(pk=step.pk).aupdate(state="running")
    await integration.__class__.objects.filter(pk=integration.pk).aupdate(connection_id="c1")
    await claim(step, "poller")
    assert await sync_to_async(services.sync_status_changed)("c1")  # Fivetran rings mid-poll
    await sync_to_async(services.step_check_later)(step.pk, owner="poller", after_seconds=600, scratch=None)
    step = await SetupStep.objects.aget(pk=step.pk)
    assert step.due_at <= timezone.now()


async def test_without_a_webhook_the_poll_sets_the_next_check(integration):
    step = await SetupStep.objects.aget(integration=integration, name="historical_sync")
    await claim(step, "poller")
    await sync_to_async(services.step_check_later)(step.pk, owner="poller", after_seconds=600, scratch=None)
    step = await SetupStep.objects.aget(pk=step.pk)
    assert step.due_at > timezone.now() + timedelta(seconds=590)
    assert step.lease_owner == "" and step.lease_until is None


async def test_a_dead_workers_step_is_taken_over_once_its_lease_expires(integration):
    step = await SetupStep.objects.aget(integration=integration, name="create_connection")
    await claim(step, "dead")
    assert await sync_to_async(leases.steps_claim_due)(owner="alive", limit=10, lease_seconds=30) == []
    await SetupStep.objects.filter(pk=step.pk).aupdate(lease_until=timezone.now() - timedelta(seconds=1))
    assert await sync_to_async(leases.steps_claim_due)(owner="alive", limit=10, lease_seconds=30) == [step.pk]
    with pytest.raises(services.LeaseLost):
        await sync_to_async(services.step_check_later)(step.pk, owner="dead", after_seconds=1, scratch=None)
