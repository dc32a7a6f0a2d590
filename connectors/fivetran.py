"""The only code that talks to Fivetran's REST API (reference: docs/reference/fivetran-api.md).

Every call goes through one retry loop: 429 waits `Retry-After`, 5xx and transport failures back
off exponentially with full jitter, both bounded by `max_attempts` and `max_retry_seconds`; other
4xx are raised at once. Failures always surface as `FivetranError`. Responses are parsed into
frozen dataclasses that tolerate what Fivetran adds or leaves out: an unknown state is kept as its
string, a missing optional key becomes a default, and a timestamp may or may not have fractions.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from connectors.catalogue import connection_config
from connectors.frozen import freeze

if TYPE_CHECKING:
    from connectors.catalogue import Service

logger = logging.getLogger(__name__)

USER_AGENT = f"gyana-connect/0.1 httpx/{httpx.__version__}"
# docs/reference/fivetran-api.md §1.1: version=2 on connection, destination and metadata calls; schema, group
# and webhook calls use plain JSON.
ACCEPT_V2 = "application/json;version=2"
ACCEPT_JSON = "application/json"

UNAVAILABLE = "Unavailable"
SCHEMA_CONFIG_MISSING = "NotFound_SchemaConfig"
CONNECTION_MISSING = ("NotFound_Integration", "NotFound_Connector")
UNKNOWN = "unknown"  # a status field Fivetran left out
# The minutes between syncs Fivetran offers (fivetran-post-setup.md §1.2); nothing else is accepted.
SYNC_FREQUENCIES = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)

# Reload asks the source for its schema and can block for minutes (§1.5), far longer than a
# normal call may take.
RELOAD_TIMEOUT_FACTOR = 4.0
# One jittered back-off never sleeps longer than this, however many attempts are allowed.
MAX_BACKOFF_SECONDS = 30.0


class FivetranError(Exception):
    """A Fivetran call failed: HTTP `status` (None when no response came), Fivetran's `code`, `message`."""

    def __init__(self, status: int | None, code: str, message: str):
        self.status = status
        self.code = code
        self.message = message
        super().__init__(f"Fivetran {status if status is not None else 'unreachable'} {code}: {message}")

    @property
    def connection_missing(self) -> bool:
        return self.status == 404 and self.code in CONNECTION_MISSING


# --- typed results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    code: str
    message: str
    details: Any = None


@dataclass(frozen=True)
class ConnectionStatus:
    setup_state: str
    sync_state: str
    update_state: str
    is_historical_sync: bool
    rescheduled_for: datetime | None
    tasks: tuple[Task, ...]
    warnings: tuple[Task, ...]


@dataclass(frozen=True)
class Connection:
    id: str
    group_id: str
    service: str
    schema: str
    paused: bool
    created_at: datetime | None
    succeeded_at: datetime | None
    failed_at: datetime | None
    status: ConnectionStatus
    config: Mapping[str, Any]
    # The schedule (§2.3): minutes between syncs (None when Fivetran sends null), "HH:MM" UTC only when
    # the frequency is 1440 and a time was set, and "auto" or "manual" ("" when left out).
    sync_frequency: int | None = None
    daily_sync_time: str | None = None
    schedule_type: str = ""


@dataclass(frozen=True)
class ColumnConfig:
    name: str
    name_in_destination: str
    enabled: bool
    patch_allowed: bool


@dataclass(frozen=True)
class TableConfig:
    name: str
    name_in_destination: str
    enabled: bool
    patch_allowed: bool
    patch_reason: str | None
    columns: Mapping[str, ColumnConfig]


@dataclass(frozen=True)
class SchemaEntry:
    name: str
    name_in_destination: str
    enabled: bool
    tables: Mapping[str, TableConfig]


@dataclass(frozen=True)
class SchemaConfig:
    schema_change_handling: str | None
    schemas: Mapping[str, SchemaEntry]


@dataclass(frozen=True)
class Webhook:
    id: str
    type: str
    group_id: str | None
    url: str
    events: tuple[str, ...]
    active: bool


@dataclass(frozen=True)
class ConnectorType:
    id: str
    name: str
    type: str
    service_status: str | None
    link_to_docs: str | None = None
    # The `config` properties Fivetran accepts (only in the one-type answer): "schema_prefix" for
    # databases, "table" for single-table connectors.
    config_properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class Destination:
    id: str
    service: str
    project_id: str | None
    location: str | None


# --- parsing -------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from Fivetran's ISO strings (micro-, milli- or no fractions, Z or offset)."""
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        # A malformed timestamp must not take a whole status page down with it.
        logger.warning("Fivetran sent an unparseable timestamp %r; treating it as missing", value)
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def parse_task(data: Mapping[str, Any]) -> Task:
    return Task(code=str(data.get("code") or ""), message=str(data.get("message") or ""), details=data.get("details"))


def parse_status(data: Mapping[str, Any] | None) -> ConnectionStatus:
    data = data or {}
    return ConnectionStatus(
        setup_state=str(data.get("setup_state") or UNKNOWN),
        sync_state=str(data.get("sync_state") or UNKNOWN),
        update_state=str(data.get("update_state") or UNKNOWN),
        is_historical_sync=bool(data.get("is_historical_sync", False)),
        rescheduled_for=parse_timestamp(data.get("rescheduled_for")),
        tasks=tuple(parse_task(task) for task in data.get("tasks") or () if isinstance(task, Mapping)),
        warnings=tuple(parse_task(task) for task in data.get("warnings") or () if isinstance(task, Mapping)),
    )


def parse_connection(data: Mapping[str, Any]) -> Connection:
    return Connection(
        id=str(data["id"]),
        group_id=str(data.get("group_id") or ""),
        service=str(data.get("service") or ""),
        schema=str(data.get("schema") or ""),
        paused=bool(data.get("paused", False)),
        created_at=parse_timestamp(data.get("created_at")),
        succeeded_at=parse_timestamp(data.get("succeeded_at")),
        failed_at=parse_timestamp(data.get("failed_at")),
        status=parse_status(data.get("status")),
        config=freeze(data.get("config") or {}),
        sync_frequency=_minutes(data.get("sync_frequency")),
        daily_sync_time=str(data["daily_sync_time"]) if data.get("daily_sync_time") else None,
        schedule_type=str(data.get("schedule_type") or ""),
    )


def _minutes(value: Any) -> int | None:
    # bool is an int in Python, and a string would be Fivetran changing the type: neither is a frequency.
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _patch_settings(data: Mapping[str, Any]) -> tuple[bool, str | None]:
    settings = data.get("enabled_patch_settings") or {}
    # Absent settings mean Fivetran puts no lock on the object.
    allowed = bool(settings.get("allowed", True))
    reason = settings.get("reason") or settings.get("reason_code")
    return allowed, (str(reason) if reason and not allowed else None)


def parse_column(name: str, data: Mapping[str, Any]) -> ColumnConfig:
    allowed, _ = _patch_settings(data)
    return ColumnConfig(
        name=name,
        name_in_destination=str(data.get("name_in_destination") or name),
        enabled=bool(data.get("enabled", False)),
        patch_allowed=allowed,
    )


def parse_table(name: str, data: Mapping[str, Any]) -> TableConfig:
    allowed, reason = _patch_settings(data)
    columns = data.get("columns") or {}
    return TableConfig(
        name=name,
        name_in_destination=str(data.get("name_in_destination") or name),
        enabled=bool(data.get("enabled", False)),
        patch_allowed=allowed,
        patch_reason=reason,
        columns=MappingProxyType({column: parse_column(column, value) for column, value in columns.items()}),
    )


def parse_schema_config(data: Mapping[str, Any]) -> SchemaConfig:
    schemas = {}
    for name, schema in (data.get("schemas") or {}).items():
        tables = schema.get("tables") or {}
        schemas[name] = SchemaEntry(
            name=name,
            name_in_destination=str(schema.get("name_in_destination") or name),
            enabled=bool(schema.get("enabled", False)),
            tables=MappingProxyType({table: parse_table(table, value) for table, value in tables.items()}),
        )
    handling = data.get("schema_change_handling")
    return SchemaConfig(
        schema_change_handling=str(handling) if handling else None, schemas=MappingProxyType(schemas)
    )


def parse_webhook(data: Mapping[str, Any]) -> Webhook:
    return Webhook(
        id=str(data["id"]),
        type=str(data.get("type") or ""),
        group_id=data.get("group_id"),
        url=str(data.get("url") or ""),
        events=tuple(str(event) for event in data.get("events") or ()),
        active=bool(data.get("active", True)),
    )


def parse_connector_type(data: Mapping[str, Any]) -> ConnectorType:
    config = data.get("config") if isinstance(data.get("config"), Mapping) else {}
    properties = config.get("properties") if isinstance(config.get("properties"), Mapping) else {}
    return ConnectorType(
        id=str(data["id"]),
        name=str(data.get("name") or data["id"]),
        type=str(data.get("type") or ""),
        service_status=data.get("service_status"),
        link_to_docs=str(data["link_to_docs"]) if data.get("link_to_docs") else None,
        config_properties=tuple(str(name) for name in properties),
    )


def parse_destination(data: Mapping[str, Any]) -> Destination:
    config = data.get("config") or {}
    return Destination(
        id=str(data["id"]),
        service=str(data.get("service") or ""),
        project_id=config.get("project_id"),
        # API v2 says data_set_location, v1 said location (§1.1).
        location=config.get("data_set_location") or config.get("location"),
    )


# --- schema selection ----------------------------------------------------------------------------


def schema_selection_patch(current: SchemaConfig, selected: Mapping[str, Collection[str]]) -> dict[str, Any]:
    """The PATCH body that makes exactly the `selected` tables (source names) enabled.

    Locked tables (`patch_allowed` false) are never sent: Fivetran rejects the whole PATCH.
    A schema is enabled iff the selection names a table in it; BLOCK_ALL keeps new objects out.
    """
    for schema_name, tables in selected.items():
        schema = current.schemas.get(schema_name)
        if schema is None:
            raise ValueError(f"unknown schema {schema_name!r} in the table selection")
        if isinstance(tables, str):
            raise ValueError(f"the selection for schema {schema_name!r} must be a collection of table names")
        unknown = sorted(set(tables) - set(schema.tables))
        if unknown:
            raise ValueError(f"unknown table(s) {', '.join(map(repr, unknown))} in schema {schema_name!r}")

    schemas: dict[str, Any] = {}
    for schema_name, schema in current.schemas.items():
        chosen = set(selected.get(schema_name) or ())
        tables = {
            table_name: {"enabled": table_name in chosen}
            for table_name, table in schema.tables.items()
            if table.patch_allowed
        }
        schemas[schema_name] = {"enabled": bool(chosen), "tables": tables}
    return {"schema_change_handling": "BLOCK_ALL", "schemas": schemas}


# --- client --------------------------------------------------------------------------------------


class _Retryable(Exception):
    """An attempt failed in a way that may succeed later (429, 5xx, no response)."""

    def __init__(self, error: FivetranError, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.error = error
        self.reason = reason
        self.retry_after = retry_after


class _RetryBudget:
    """Attempts and seconds one logical call may spend on retries."""

    def __init__(self, client: FivetranClient, description: str):
        self._client = client
        self._description = description
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + client.max_retry_seconds
        self.attempt = 1

    async def wait(self, failure: _Retryable) -> None:
        """Sleep before the next attempt, or raise the failure when the budget is spent."""
        client = self._client
        remaining = self._deadline - self._loop.time()
        if self.attempt >= client.max_attempts or remaining <= 0:
            raise failure.error
        if failure.retry_after is not None:
            delay = failure.retry_after
        else:
            ceiling = min(MAX_BACKOFF_SECONDS, client.backoff_base * 2 ** (self.attempt - 1))
            delay = random.uniform(0, ceiling)
        delay = max(0.0, min(delay, remaining))
        logger.warning(
            "Fivetran %s failed (%s); retry %d of %d in %.2fs",
            self._description,
            failure.reason,
            self.attempt,
            client.max_attempts - 1,
            delay,
        )
        await asyncio.sleep(delay)
        self.attempt += 1


class FivetranClient:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        api_secret: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 4,
        max_retry_seconds: float = 60.0,
        backoff_base: float = 0.5,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.backoff_base = backoff_base
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=httpx.BasicAuth(api_key, api_secret),
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
        )

    @classmethod
    def from_settings(cls) -> FivetranClient:
        from django.conf import settings

        return cls(
            settings.FIVETRAN_API_URL,
            settings.FIVETRAN_API_KEY,
            settings.FIVETRAN_API_SECRET,
            timeout=settings.FIVETRAN_TIMEOUT_SECONDS,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def closed(self) -> bool:
        return self._http.is_closed

    # --- connections -----------------------------------------------------------------------------

    async def create_connection(
        self, *, group_id: str, service: Service, schema_name: str, redirect_uri: str
    ) -> tuple[Connection, str]:
        """Create a paused connection awaiting its Connect Card; returns it and the card's uri.

        A connection costs money, so the POST is never repeated blindly: after a failure that may
        hide a created connection (5xx, lost response), the group is searched for the schema
        first and an existing connection is returned instead of creating a second one.
        """
        body = {
            "group_id": group_id,
            "service": service.id,
            "paused": True,
            "run_setup_tests": False,
            "config": connection_config(service, schema_name),
            "connect_card_config": {"redirect_uri": redirect_uri, "hide_setup_guide": True},
        }
        # Single-table connectors are named "<schema>.<table>" by Fivetran (§2.3).
        table = service.static_config.get("table")
        connection_schema = f"{schema_name}.{table}" if table else schema_name
        budget = _RetryBudget(self, "POST /connections")
        while True:
            try:
                data = await self._attempt("POST", "/connections", accept=ACCEPT_V2, body=body)
                break
            except _Retryable as failure:
                await budget.wait(failure)
                if failure.error.status == 429:
                    continue  # rate limited: the create was refused, nothing to look for
                existing = await self.find_connection(group_id=group_id, schema_name=connection_schema)
                if existing is not None:
                    logger.warning(
                        "Fivetran create of %s answered %s but connection %s exists; using it",
                        connection_schema,
                        failure.reason,
                        existing.id,
                    )
                    return existing, await self.connect_card(existing.id, redirect_uri=redirect_uri)
            except FivetranError as error:
                # A slow first attempt may have committed after our look-up; Fivetran then refuses
                # the retry because the schema name is taken. That connection is ours.
                if budget.attempt > 1 and error.status in (400, 409):
                    existing = await self.find_connection(group_id=group_id, schema_name=connection_schema)
                    if existing is not None:
                        return existing, await self.connect_card(existing.id, redirect_uri=redirect_uri)
                raise
        connection = parse_connection(data)
        uri = (data.get("connect_card") or {}).get("uri")
        if not uri:
            uri = await self.connect_card(connection.id, redirect_uri=redirect_uri)
        return connection, uri

    async def find_connection(self, *, group_id: str, schema_name: str) -> Connection | None:
        """The group's connection named `schema_name` (or `<schema_name>.<table>`), if any."""
        params = {"group_id": group_id, "schema": schema_name}
        async for item in self._paginate("/connections", accept=ACCEPT_V2, params=params):
            connection = parse_connection(item)
            # The filters are recent (2025-08): an API that ignores them returns everything.
            if connection.group_id == group_id and schema_name in (connection.schema, connection.schema.split(".")[0]):
                return connection
        return None

    async def connect_card(self, connection_id: str, *, redirect_uri: str) -> str:
        data = await self._call(
            "POST",
            f"/connections/{connection_id}/connect-card",
            accept=ACCEPT_V2,
            body={"connect_card_config": {"redirect_uri": redirect_uri, "hide_setup_guide": True}},
        )
        uri = (data.get("connect_card") or {}).get("uri")
        if not uri:
            raise FivetranError(200, "InvalidResponse", f"no connect_card.uri for connection {connection_id}")
        return str(uri)

    async def get_connection(self, connection_id: str) -> Connection:
        return parse_connection(await self._call("GET", f"/connections/{connection_id}", accept=ACCEPT_V2))

    async def list_connections(self, group_id: str, *, page_size: int | None = None) -> list[Connection]:
        """Every connection of the group (list items carry no `config`)."""
        items = self._paginate(f"/groups/{group_id}/connections", accept=ACCEPT_JSON, page_size=page_size)
        return [parse_connection(item) async for item in items]

    async def set_paused(self, connection_id: str, paused: bool) -> Connection:
        return await self.update_connection(connection_id, paused=paused)

    async def update_connection(
        self,
        connection_id: str,
        *,
        sync_frequency: int | None = None,
        daily_sync_time: str | None = None,
        paused: bool | None = None,
    ) -> Connection:
        """Change the connection's schedule or pause it (PATCH /v1/connections/{id}, §2.4); returns it as
        Fivetran now has it. Only the arguments given are sent.

        `sync_frequency` must be one of SYNC_FREQUENCIES (minutes) and `daily_sync_time` "HH:00" UTC
        (Fivetran uses it only with 1440). A call with nothing to change, or a frequency Fivetran does not
        offer, raises ValueError before any request; Fivetran refuses other bad values with a 400.
        """
        changes: dict[str, Any] = {}
        if sync_frequency is not None:
            if sync_frequency not in SYNC_FREQUENCIES or isinstance(sync_frequency, bool):
                offered = ", ".join(map(str, SYNC_FREQUENCIES))
                raise ValueError(f"Fivetran syncs every {offered} minutes, not every {sync_frequency!r}")
            changes["sync_frequency"] = sync_frequency
        if daily_sync_time is not None:
            changes["daily_sync_time"] = daily_sync_time
        if paused is not None:
            changes["paused"] = paused
        if not changes:
            raise ValueError("update_connection needs at least one of sync_frequency, daily_sync_time, paused")
        # run_setup_tests false: a scheduling change must not make a round-trip to the source.
        body = {**changes, "run_setup_tests": False}
        return parse_connection(await self._call("PATCH", f"/connections/{connection_id}", accept=ACCEPT_V2, body=body))

    async def sync(self, connection_id: str, *, force: bool = False) -> None:
        await self._call("POST", f"/connections/{connection_id}/sync", accept=ACCEPT_V2, body={"force": force})

    async def resync(self, connection_id: str, scope: Mapping[str, list[str]] | None = None) -> None:
        if scope is not None and not scope:
            raise ValueError("a resync scope must name at least one schema (or be None for everything)")
        body = {"scope": {schema: list(tables) for schema, tables in scope.items()}} if scope else {}
        await self._call("POST", f"/connections/{connection_id}/resync", accept=ACCEPT_V2, body=body)

    async def resync_table(self, connection_id: str, schema: str, table: str) -> None:
        """Re-sync one table from scratch (POST …/schemas/{schema}/tables/{table}/resync, §2.6).

        `schema` and `table` are source names (the keys of the schema config), not BigQuery's. The
        connection's other tables are not re-synced. A table Fivetran does not know, or a connector
        that cannot re-sync single tables, is refused with a 4xx FivetranError.
        """
        path = f"/connections/{connection_id}/schemas/{_segment(schema)}/tables/{_segment(table)}/resync"
        await self._call("POST", path, accept=ACCEPT_JSON)

    async def delete_connection(self, connection_id: str) -> None:
        """Delete the connection. A 404 on a retry means the lost first attempt already did it."""
        budget = _RetryBudget(self, f"DELETE /connections/{connection_id}")
        while True:
            try:
                await self._attempt("DELETE", f"/connections/{connection_id}", accept=ACCEPT_V2)
                return
            except _Retryable as failure:
                await budget.wait(failure)
            except FivetranError as error:
                if budget.attempt > 1 and error.connection_missing:
                    return
                raise

    # --- schema config ---------------------------------------------------------------------------

    async def get_schema_config(self, connection_id: str) -> SchemaConfig:
        """The schema config; Fivetran has none before the schema is captured, so reload then."""
        try:
            data = await self._call("GET", f"/connections/{connection_id}/schemas", accept=ACCEPT_JSON)
        except FivetranError as error:
            if error.status == 404 and error.code == SCHEMA_CONFIG_MISSING:
                return await self.reload_schema_config(connection_id)
            raise
        return parse_schema_config(data)

    async def reload_schema_config(self, connection_id: str) -> SchemaConfig:
        data = await self._call(
            "POST",
            f"/connections/{connection_id}/schemas/reload",
            accept=ACCEPT_JSON,
            body={"exclude_mode": "PRESERVE"},
            timeout=self.timeout * RELOAD_TIMEOUT_FACTOR,
        )
        return parse_schema_config(data)

    async def update_schema_config(
        self, connection_id: str, current: SchemaConfig, selected: Mapping[str, Collection[str]]
    ) -> SchemaConfig:
        """Enable exactly the `selected` tables ({source schema: [source table]}); see schema_selection_patch."""
        body = schema_selection_patch(current, selected)
        data = await self._call("PATCH", f"/connections/{connection_id}/schemas", accept=ACCEPT_JSON, body=body)
        return parse_schema_config(data)

    # --- catalogue, destination, webhooks --------------------------------------------------------

    async def list_connector_types(self, *, page_size: int | None = None) -> list[ConnectorType]:
        items = self._paginate("/metadata/connector-types", accept=ACCEPT_V2, page_size=page_size)
        return [parse_connector_type(item) async for item in items]

    async def get_connector_type(self, service_id: str) -> ConnectorType:
        """One connector type with its config schema (§2.8); a FivetranError 404 when unknown."""
        path = f"/metadata/connector-types/{quote(service_id, safe='')}"
        return parse_connector_type(await self._call("GET", path, accept=ACCEPT_V2))

    async def get_destination(self, group_id: str) -> Destination:
        # A group id is its destination id (§1.6).
        return parse_destination(await self._call("GET", f"/destinations/{group_id}", accept=ACCEPT_V2))

    async def create_group_webhook(self, group_id: str, *, url: str, events: Sequence[str], secret: str) -> Webhook:
        body = {"url": url, "events": list(events), "active": True, "secret": secret}
        return parse_webhook(await self._call("POST", f"/webhooks/group/{group_id}", accept=ACCEPT_JSON, body=body))

    async def list_webhooks(self, *, page_size: int | None = None) -> list[Webhook]:
        items = self._paginate("/webhooks", accept=ACCEPT_JSON, page_size=page_size)
        return [parse_webhook(item) async for item in items]

    # --- transport -------------------------------------------------------------------------------

    async def _paginate(
        self,
        path: str,
        *,
        accept: str,
        params: Mapping[str, str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[Mapping[str, Any]]:
        """Every item of a cursor-paginated list; the last page has no `next_cursor` key (§1.4)."""
        query = dict(params or {})
        if page_size is not None:
            query["limit"] = str(page_size)
        seen: set[str] = set()
        while True:
            data = await self._call("GET", path, accept=accept, params=query)
            for item in data.get("items") or ():
                yield item
            cursor = data.get("next_cursor")
            if not cursor:
                return
            if cursor in seen:
                raise FivetranError(200, "InvalidResponse", f"{path} returned cursor {cursor!r} twice")
            seen.add(cursor)
            query["cursor"] = cursor

    async def _call(
        self,
        method: str,
        path: str,
        *,
        accept: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One logical call with retries; returns the envelope's `data` ({} when there is none)."""
        budget = _RetryBudget(self, f"{method} {path}")
        while True:
            try:
                return await self._attempt(method, path, accept=accept, body=body, params=params, timeout=timeout)
            except _Retryable as failure:
                await budget.wait(failure)

    async def _attempt(
        self,
        method: str,
        path: str,
        *,
        accept: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """One HTTP request. Raises _Retryable for what may pass, FivetranError for what will not."""
        headers = {"Accept": accept}
        content = None
        if method in ("POST", "PATCH"):
            # Fivetran only accepts writes that declare JSON explicitly (§1.1), even empty ones.
            headers["Content-Type"] = "application/json"
            content = json.dumps(body or {}, separators=(",", ":"))
        try:
            response = await self._http.request(
                method,
                path,
                params=params,
                content=content,
                headers=headers,
                timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
            )
        except httpx.TimeoutException as exc:
            error = FivetranError(None, UNAVAILABLE, f"{method} {path} timed out ({type(exc).__name__})")
            raise _Retryable(error, f"timeout: {type(exc).__name__}") from exc
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            error = FivetranError(None, UNAVAILABLE, f"{method} {path} failed: {type(exc).__name__}: {exc}")
            raise _Retryable(error, f"{type(exc).__name__}: {exc}") from exc

        if response.is_success:
            return _envelope_data(response)
        error = _error_from(response)
        if response.status_code == 429:
            raise _Retryable(error, f"429 {error.code}", retry_after=_retry_after(response))
        if response.status_code >= 500:
            raise _Retryable(error, f"{response.status_code} {error.code}")
        raise error


def _segment(name: str) -> str:
    # Source names may hold characters a path cannot (a space, a slash, "?"): Fivetran matches them exactly.
    return quote(name, safe="")


def _envelope_data(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        envelope = response.json()
    except ValueError as exc:
        raise FivetranError(response.status_code, "InvalidResponse", "the response body is not JSON") from exc
    if not isinstance(envelope, dict):
        raise FivetranError(response.status_code, "InvalidResponse", "the response body is not a JSON object")
    data = envelope.get("data")
    return data if isinstance(data, dict) else {}


def _error_from(response: httpx.Response) -> FivetranError:
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    if isinstance(envelope, dict) and envelope.get("code"):
        return FivetranError(response.status_code, str(envelope["code"]), str(envelope.get("message") or ""))
    # Not Fivetran's envelope (a proxy or load balancer answered): keep a little of the body.
    text = response.text.strip()[:200] or response.reason_phrase
    return FivetranError(response.status_code, f"HTTP{response.status_code}", text)


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds; Fivetran sends an integer (an HTTP date falls back to back-off)."""
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


# --- the shared client ---------------------------------------------------------------------------

# One client per running event loop. An httpx.AsyncClient's pooled connections belong to the loop
# that opened them; reusing them from another loop (each async_to_sync thread, each test) fails or
# hangs. Within a loop every caller shares one client, so keep-alive connections are reused.
_clients: dict[asyncio.AbstractEventLoop, FivetranClient] = {}


# Fivetran's dashboard, where staff see a connection as Fivetran does (its logs, its setup form).
DASHBOARD_URL = "https://fivetran.com/dashboard"


def dashboard_url(*, service: str, schema: str, group_id: str) -> str:
    """The connection's page in Fivetran's dashboard, in the shape Gyana's admin linked to
    (docs/reference/fivetran-post-setup.md §4): by connector type and destination schema, in the group."""
    return f"{DASHBOARD_URL}/connectors/{quote(service, safe='')}/{quote(schema, safe='')}?requiredGroup={quote(group_id, safe='')}"


def get_client() -> FivetranClient:
    """The shared client of the running event loop, made from settings on first use."""
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None or client.closed:
        for stale in [other for other in _clients if other.is_closed()]:
            # Its loop is gone, so its sockets cannot be closed gracefully; drop the reference.
            del _clients[stale]
        client = _clients[loop] = FivetranClient.from_settings()
    return client
