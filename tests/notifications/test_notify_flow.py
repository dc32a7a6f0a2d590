"""Notifications on the real stack: the set-up's and the connection's workflows (Temporal dev
server, the worker in the test's loop) run `notify_people` against the Fivetran emulator, the
database, and a real local SMTP server (aiosmtpd)."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import AsyncClient

from integrations.models import Integration
from notifications.delivery.services import visible_notifications
from notifications.models import Notification, NotificationPreference
from tests.support.flow_fixtures import Driver, start_setup

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("setup_worker_running")]


async def member(team, name: str, email: str = "") -> object:
    user = await sync_to_async(get_user_model().objects.create_user)(username=f"{name}{time.monotonic_ns()}", email=email)
    await team.members.aadd(user)
    return user


async def until(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = await predicate()
        if answer:
            return answer
        await asyncio.sleep(0.1)
    raise AssertionError(f"never {what}")


async def notifications_of(integration_id: int, kind: str) -> list[Notification]:
    return [n async for n in Notification.objects.filter(integration_id=integration_id, kind=kind).order_by("user_id")]


async def ready(team_user, emulator) -> Driver:
    driver = await start_setup(team_user, "hubspot")
    await driver.connect_and_choose(emulator)
    await driver.until_state("ready", timeout=60)
    return driver


async def test_set_up_ready_emails_each_member_once_even_when_the_smtp_server_makes_the_activity_retry(
    flow_settings, flow_emulator, team_user, smtp_server
):
    team, creator = team_user
    ana = await member(team, "ana", "ana@example.com")
    bo = await member(team, "bo", "bo@example.com")
    # Bo's mailbox is busy the first time: that attempt of the activity fails, Temporal retries it.
    smtp_server.refuse_once.add("bo@example.com")

    driver = await ready(team_user, flow_emulator)

    await until(lambda: asyncio.sleep(0, smtp_server.to("bo@example.com")), "Bo's e-mail after the retry")
    await asyncio.sleep(2)  # what a wrongly repeated send would need to arrive
    assert smtp_server.refused == ["bo@example.com"]
    assert len(smtp_server.to("ana@example.com")) == 1, "Ana was e-mailed again by the retried activity"
    assert len(smtp_server.to("bo@example.com")) == 1
    integration = await driver.state()
    sent = smtp_server.to("ana@example.com")[0]
    assert sent.subject == f"{integration.name} is ready"
    assert f"/integrations/{integration.pk}/" in sent.body and "in BigQuery" in sent.body

    rows = await notifications_of(integration.pk, "setup_ready")
    assert {row.user_id for row in rows} == {ana.pk, bo.pk, creator.pk}  # every member, once
    assert all(row.link == f"/integrations/{integration.pk}/" and row.in_app for row in rows)
    assert all(row.emailed_at is not None for row in rows if row.user_id in (ana.pk, bo.pk))
    creator_row = next(row for row in rows if row.user_id == creator.pk)
    assert not creator_row.email_wanted and creator_row.emailed_at is None  # no address, no e-mail
    assert len({row.key for row in rows}) == 1 and rows[0].key.startswith(f"integration-{integration.pk}:setup_ready:")


async def test_preferences_are_honoured_for_both_channels(flow_settings, flow_emulator, team_user, smtp_server):
    team, creator = team_user
    quiet_mail = await member(team, "inapp", "inapp@example.com")
    nothing = await member(team, "nothing", "nothing@example.com")
    mail_only = await member(team, "mailonly", "mailonly@example.com")
    await NotificationPreference.objects.acreate(user=quiet_mail, kind="setup_ready", in_app=True, email=False)
    await NotificationPreference.objects.acreate(user=nothing, kind="setup_ready", in_app=False, email=False)
    await NotificationPreference.objects.acreate(user=mail_only, kind="setup_ready", in_app=False, email=True)

    driver = await ready(team_user, flow_emulator)
    await until(lambda: asyncio.sleep(0, smtp_server.to("mailonly@example.com")), "the e-mail of who wants only e-mail")
    await asyncio.sleep(1)

    assert smtp_server.to("inapp@example.com") == [] and smtp_server.to("nothing@example.com") == []
    assert await Notification.objects.filter(integration_id=driver.integration_id, user=nothing).acount() == 0
    listed = sync_to_async(lambda user: list(visible_notifications(user=user)))
    assert [n.kind for n in await listed(quiet_mail)] == ["setup_ready"]
    assert await listed(mail_only) == []  # e-mail only: nothing in the site
    page = AsyncClient()
    await page.aforce_login(mail_only)
    integration = await driver.state()
    assert f"{integration.name} is ready" not in (await page.get("/notifications/")).content.decode()


async def test_a_broken_connection_notifies_once_with_fivetrans_reason_and_the_reconnect_tab(
    flow_settings, flow_emulator, team_user, smtp_server
):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    integration = await driver.state()
    client = AsyncClient()
    await client.aforce_login(user)
    flow_emulator.fault("break", connection_id=integration.connection_id)
    assert (await client.post(f"/api/integrations/{integration.pk}/sync/")).status_code == 200

    async def broken_notice():
        return await notifications_of(integration.pk, "connection_broken")

    [notice] = await until(broken_notice, "a connection_broken notification")
    broken = await Integration.objects.aget(pk=integration.pk)
    assert broken.health == "broken"
    assert notice.link == f"/integrations/{integration.pk}/?tab=settings"
    assert broken.health_reason in notice.body and notice.title == f"{integration.name} needs reconnecting"

    # Still broken at the next looks: no second notice for the same break.
    for _ in range(2):
        await client.post(f"/api/integrations/{integration.pk}/sync/")
    await asyncio.sleep(3)
    assert len(await broken_notice()) == 1


async def test_new_tables_waiting_for_review_notify_once(flow_settings, flow_emulator, team_user, smtp_server):
    team, user = team_user
    driver = await ready(team_user, flow_emulator)
    integration = await driver.state()
    client = AsyncClient()
    await client.aforce_login(user)
    flow_emulator.add_table(integration.connection_id, "invoices", columns=["id:INT64", "amount:NUMERIC"], rows=5)
    assert (await client.post(f"/api/integrations/{integration.pk}/sync/")).status_code == 200

    async def review():
        return await notifications_of(integration.pk, "schema_review")

    [notice] = await until(review, "a schema_review notification")
    assert "invoices" in notice.body and notice.link == f"/integrations/{integration.pk}/?tab=schema"
    assert "until someone ticks them on the connection's Schema tab" in notice.body

    assert (await client.post(f"/api/integrations/{integration.pk}/sync/")).status_code == 200
    synced = integration.succeeded_at

    async def synced_again():
        now = await driver.state()
        return now.succeeded_at and now.succeeded_at != synced

    await until(synced_again, "another sync", timeout=30)
    await asyncio.sleep(2)
    assert len(await review()) == 1  # the same table waiting is not news
