"""The set-up steps. Each is an idempotent async function: run again after a crash at any point, it
neither creates a second Fivetran connection nor a second Table row, and the runner's lease-guarded
transitions make sure it never emits a second event for the same transition.
"""

import asyncio
import time
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from connectors.catalogue import get_catalogue
from connectors.fivetran import get_client
from integrations.models import Integration
from integrations.setup.landing import landing_progress
from integrations.setup.outcomes import CheckAgain, Done, Failed, Skipped, StepContext, WaitForUser
from integrations.setup.selection import picker_counts, picker_schemas
from integrations.setup.sync_status import SyncVerdict, assess
from integrations.state import connect_card_return
from integrations.state import transitions as services
from integrations.state.datasets import destination_tables
from integrations.state.events import isoformat
from integrations.state.source_schema import schema_summary, selectable_count
from integrations.state.tables import register_tables
from integrations.wording import counted

SCHEMA_PROGRESS_SECONDS = 10
# A Connect Card link lives one day (docs/reference/fivetran-api.md §2.2); offer a new one before it dies.
CARD_LIFETIME = timedelta(hours=23)
TABLES_EVENT_PAGE = 100


def _absolute(path: str) -> str:
    return f"{settings.PUBLIC_URL}{path}"


async def _new_card_return_url(ctx: StepContext) -> str:
    """Persist a fresh one-time nonce first, so the return can be verified whatever happens next."""
    ctx.integration = await sync_to_async(connect_card_return.return_nonce_renew)(ctx.integration.pk)
    path = reverse("integrations:authorized", args=[ctx.integration.pk])
    return _absolute(f"{path}?token={connect_card_return.return_token(ctx.integration)}")


async def _save(ctx: StepContext, **fields) -> None:
    ctx.integration = await sync_to_async(services.integration_update)(ctx.integration.pk, **fields)


async def _current_card(ctx: StepContext) -> str:
    """The Connect Card link to offer: the current one while it is unused and alive, else a new one."""
    integration = ctx.integration
    issued = integration.connect_card_issued_at
    if integration.return_nonce and integration.connect_card_uri and issued and timezone.now() - issued < CARD_LIFETIME:
        return integration.connect_card_uri
    redirect_uri = await _new_card_return_url(ctx)
    card_uri = await get_client().connect_card(integration.connection_id, redirect_uri=redirect_uri)
    await _save(ctx, connect_card_uri=card_uri, connect_card_issued_at=timezone.now())
    return card_uri


def _service(ctx: StepContext):
    return get_catalogue().get(ctx.integration.service)


# -- the steps, in order ----------------------------------------------------------------------------


async def create_connection(ctx: StepContext):
    integration = ctx.integration
    if not integration.connection_id:
        client = get_client()
        redirect_uri = await _new_card_return_url(ctx)
        # A crash after Fivetran created the connection but before we saved its id leaves a
        # connection under our (unique) schema name: adopt it instead of paying for a second one.
        existing = await client.find_connection(
            group_id=settings.FIVETRAN_GROUP_ID, schema_name=integration.schema_name
        )
        if existing is not None:
            connection = existing
            card_uri = await client.connect_card(existing.id, redirect_uri=redirect_uri)
        else:
            connection, card_uri = await client.create_connection(
                group_id=settings.FIVETRAN_GROUP_ID,
                service=_service(ctx),
                schema_name=integration.schema_name,
                redirect_uri=redirect_uri,
            )
        try:
            await _save(
                ctx, connection_id=connection.id, connect_card_uri=card_uri, connect_card_issued_at=timezone.now()
            )
        except Integration.DoesNotExist:
            # Deleted while we were creating it: nobody else knows this connection exists.
            await client.delete_connection(connection.id)
            raise
    connection_id = ctx.integration.connection_id
    # The id stays in the event's detail (for developers); people read what happened.
    return Done(detail={"connection_id": connection_id}, message="Fivetran connection created; nothing syncs until you say so")


async def connect_card(ctx: StepContext):
    connection = await get_client().get_connection(ctx.integration.connection_id)
    if connection.status.setup_state == "connected":
        return Done(detail={"setup_state": "connected"}, message="Account connected")
    # A spent one-time link means the user came back without finishing.
    came_back = not ctx.integration.return_nonce
    card_uri = await _current_card(ctx)
    message = "The account is not connected yet: open the Connect Card again." if came_back else ""
    return WaitForUser("connect_card", card_uri, message, recheck_after=CARD_LIFETIME.total_seconds())


async def load_schema(ctx: StepContext):
    # Reading (or reloading) a schema can take minutes on some sources: say so while it runs.
    fetch = asyncio.ensure_future(get_client().get_schema_config(ctx.integration.connection_id))
    started = time.monotonic()
    try:
        while not (await asyncio.wait({fetch}, timeout=SCHEMA_PROGRESS_SECONDS))[0]:
            waited = int(time.monotonic() - started)
            await ctx.report(message=f"Fivetran is reading the source's schema ({waited} s so far)")
    finally:
        fetch.cancel()  # no-op when done; stops the call when this run is cancelled (lease lost)
    summary = schema_summary(fetch.result())
    await _save(ctx, source_schema=summary)
    tables = sum(len(schema["tables"]) for schema in summary["schemas"])
    schemas = len(summary["schemas"])
    # The same count the table picker shows: tables that can be synced (deleted ones are not).
    offered = picker_counts(picker_schemas(summary))["offered"]
    return Done(detail={"schemas": schemas, "tables": tables}, message=f"{counted(offered, 'table')} found")


async def select_tables(ctx: StepContext):
    service = _service(ctx)
    if service.single_table:
        return Skipped(f"{service.name} syncs a single table: there is nothing to choose.")
    if selectable_count(ctx.integration.source_schema or {"schemas": []}) == 0:
        return Skipped("Fivetran decides which tables this connector syncs.")
    url = reverse("integrations:setup", args=[ctx.integration.pk])
    return WaitForUser("select_tables", _absolute(url), "Choose the tables to sync.")


async def update_schema(ctx: StepContext):
    client = get_client()
    connection_id = ctx.integration.connection_id
    config = await client.get_schema_config(connection_id)
    if ctx.integration.selection is not None:
        config = await client.update_schema_config(connection_id, config, ctx.integration.selection)
    # else table selection was skipped: keep what Fivetran proposes, there was nothing to choose.
    expected = destination_tables(_service(ctx), ctx.integration.schema_name, config)
    await _save(ctx, destination_tables=expected)
    count = sum(len(tables) for tables in expected.values())
    return Done(detail={"tables": count}, message=f"{counted(count, 'table')} will be synced")


async def start_sync(ctx: StepContext):
    client = get_client()
    connection_id = ctx.integration.connection_id
    if not ctx.scratch.get("baseline_recorded"):
        # Record the baseline before anything can start: completion is judged against it.
        connection = await client.get_connection(connection_id)
        await _save(
            ctx, baseline_succeeded_at=connection.succeeded_at, baseline_failed_at=connection.failed_at
        )
        await ctx.save_scratch({**ctx.scratch, "baseline_recorded": True})
    await client.set_paused(connection_id, False)
    # Harmless after unpausing, and it makes the historical sync start sooner.
    await client.sync(connection_id)
    return Done(message="Sync started")


def _with_reason(message: str, integration: Integration) -> str:
    """Fivetran's own reason (from its signed sync_end webhook) after our words, when it has one."""
    reason = (integration.last_sync_reason or "").strip()
    if not reason or reason in message:
        return message
    return f"{message} Fivetran says: {reason}"


def poll_intervals() -> tuple[float, float]:
    # With webhooks Fivetran rings us; the timer is only the fallback, so it can be slower.
    if settings.FIVETRAN_WEBHOOK_SECRET:
        return settings.SETUP_POLL_WITH_WEBHOOKS
    return settings.SETUP_POLL_WITHOUT_WEBHOOKS


async def historical_sync(ctx: StepContext):
    integration = ctx.integration
    client = get_client()
    connection = await client.get_connection(integration.connection_id)
    if ctx.step.attempt > 1 and not ctx.scratch.get("retry_requested"):
        # A person pressed Retry: failures before it are not this attempt's, and Fivetran is asked
        # for a new sync now rather than on its own schedule.
        await _save(ctx, baseline_failed_at=connection.failed_at)
        await client.sync(integration.connection_id)
        await ctx.save_scratch({**ctx.scratch, "retry_requested": True})
        await ctx.report(message="Retrying the sync now.")
        integration = ctx.integration
    verdict = assess(
        connection,
        baseline_succeeded_at=integration.baseline_succeeded_at,
        baseline_failed_at=integration.baseline_failed_at,
    )
    scratch = dict(ctx.scratch)
    if verdict.verdict is SyncVerdict.DONE:
        return Done(detail={"succeeded_at": isoformat(connection.succeeded_at)}, message="History copied")
    if verdict.verdict in (SyncVerdict.NEEDS_RECONNECT, SyncVerdict.NEEDS_CARD):
        # The time the user takes to reconnect does not count against the sync's time limit.
        scratch.pop("clock_started_at", None)
        scratch["resume_after_reconnect"] = True
        await ctx.save_scratch(scratch)
        card_uri = await _current_card(ctx)
        # The page shows this as Fivetran's words: its reason for the break when its webhook gave one,
        # else its task's own text.
        words = (integration.last_sync_reason or "").strip() or verdict.message
        return WaitForUser("reconnect", card_uri, words, recheck_after=CARD_LIFETIME.total_seconds())
    if scratch.pop("resume_after_reconnect", False):
        # Fivetran would retry on its own schedule, possibly hours away: the user is here now. The
        # failure that broke the connection is behind us: it must not read as "failed, retrying".
        await _save(ctx, baseline_failed_at=connection.failed_at)
        integration = ctx.integration
        await client.sync(integration.connection_id)
        verdict = assess(
            connection,
            baseline_succeeded_at=integration.baseline_succeeded_at,
            baseline_failed_at=integration.baseline_failed_at,
        )
    if verdict.verdict is SyncVerdict.FAILED_RETRYING:
        failures = set(scratch.get("failures", []))
        failures.add(isoformat(connection.failed_at))
        scratch["failures"] = sorted(failures)
        if len(failures) >= settings.SETUP_SYNC_FAILURE_LIMIT:
            return Failed(
                "sync_failed", _with_reason(f"{verdict.message} ({len(failures)} failed attempts)", integration), retryable=True
            )
    if verdict.verdict is SyncVerdict.PAUSED:
        await client.set_paused(integration.connection_id, False)
    clock_started_at = scratch.setdefault("clock_started_at", isoformat(timezone.now()))
    if timezone.now() - datetime.fromisoformat(clock_started_at) >= timedelta(seconds=settings.SETUP_SYNC_TIMEOUT_SECONDS):
        # Never treat a timeout as success (the first implementation registered tables anyway).
        return Failed("sync_timeout", "The historical sync did not finish in time.", retryable=True)
    landed, total, line, scratch = await landing_progress(integration.destination_tables or {}, scratch)
    scratch["status_message"] = verdict.message
    await ctx.report(done=landed, total=total, unit="tables", message=" ".join(filter(None, (verdict.message, line))))
    first, longest = poll_intervals()
    interval = min(longest, scratch.get("interval", first / 2) * 2)
    scratch["interval"] = interval
    return CheckAgain(interval, scratch=scratch)


async def watch_landing(ctx: StepContext) -> None:
    """Between two looks at Fivetran's status: which tables have landed since (BigQuery metadata
    only, no Fivetran call), reported with the last status Fivetran gave."""
    landed, total, line, scratch = await landing_progress(ctx.integration.destination_tables or {}, dict(ctx.scratch))
    if scratch != ctx.scratch:
        await ctx.save_scratch(scratch)
    message = " ".join(filter(None, (scratch.get("status_message", ""), line)))
    await ctx.report(done=landed, total=total, unit="tables", message=message)


async def register_tables_step(ctx: StepContext):
    integration = ctx.integration
    expected = integration.destination_tables or {}

    async def on_progress(done: int, total: int) -> None:
        await ctx.report(done=done, total=total, unit="tables", message="Registering the BigQuery tables")

    registration = await register_tables(integration, expected, on_progress=on_progress)
    if registration.missing:
        waited = (timezone.now() - (ctx.step.started_at or timezone.now())).total_seconds()
        if waited < settings.SETUP_TABLES_GRACE_SECONDS:
            await ctx.report(
                done=len(registration.registered),
                total=len(registration.registered) + len(registration.missing),
                unit="tables",
                message=f"{counted(len(registration.missing), 'table')} not in BigQuery yet; waiting for them.",
            )
            return CheckAgain(min(30.0, settings.SETUP_TABLES_GRACE_SECONDS / 10))
    tables = [
        {"name": table.name, "dataset": table.dataset, "num_rows": table.num_rows}
        for table in registration.registered
    ]
    pages = [
        ("tables.registered", {"count": len(tables), "tables": tables[start : start + TABLES_EVENT_PAGE]})
        for start in range(0, len(tables), TABLES_EVENT_PAGE)
    ]
    message = f"{counted(len(tables), 'table')} registered"
    if registration.missing:
        message += f"; {len(registration.missing)} selected tables never appeared: " + ", ".join(
            registration.missing[:10]
        )
    return Done(detail={"tables": len(tables), "missing": registration.missing}, message=message, events=pages)
