"""Webhooks: validating subscriptions, building payloads, signing and delivering them (§2.10)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from ipaddress import ip_address
from typing import Any
from urllib.parse import urlparse

import httpx

from .account import USER_EMAIL, USER_ID
from .clock import webhook_timestamp
from .responses import bad_request
from .store import WEBHOOK, Store

log = logging.getLogger(__name__)

EVENTS = (
    "sync_start", "sync_end", "connection_successful", "connection_failure", "create_connector", "pause_connector",
    "resume_connector", "edit_connector", "delete_connector", "force_update_connector", "resync_connector",
    "resync_table", "dbt_run_start", "dbt_run_succeeded", "dbt_run_failed", "transformation_run_start",
    "transformation_run_succeeded", "transformation_run_failed", "status",
)
DELIVERY_TIMEOUT_SECONDS = 10.0
SIGNATURE_HEADER = "X-Fivetran-Signature-256"
LOOPBACK_HOSTS = {"localhost"}


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: Any) -> str:
    """HTTPS only, as Fivetran requires; plain HTTP is allowed on loopback so local runs need no TLS."""
    if not isinstance(url, str) or not url:
        raise bad_request("Field 'url' is required")
    parts = urlparse(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return url
    raise bad_request(f"Webhook url must use https: '{url}'")


def check_events(events: Any) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(event, str) for event in events):
        raise bad_request("Field 'events' must be a non-empty list of event names")
    unknown = [event for event in events if event not in EVENTS]
    if unknown:
        raise bad_request(f"Unknown webhook events: {', '.join(unknown)}")
    return events


def new_webhook(webhook_id: str, body: dict[str, Any], *, group_id: str | None, created_at: str) -> dict[str, Any]:
    if "active" in body and not isinstance(body["active"], bool):
        raise bad_request("'active' must be a boolean")
    secret = body.get("secret")
    if secret is not None and not isinstance(secret, str):
        raise bad_request("'secret' must be a string")
    webhook: dict[str, Any] = {"id": webhook_id, "type": "group" if group_id else "account"}
    if group_id:
        webhook["group_id"] = group_id
    webhook.update(
        url=check_url(body.get("url")),
        events=check_events(body.get("events")),
        active=body.get("active", True),
        secret=secret,
        created_at=created_at,
        created_by=USER_ID,
    )
    return webhook


def apply_update(webhook: dict[str, Any], body: dict[str, Any]) -> None:
    if "run_tests" in body and not isinstance(body["run_tests"], bool):
        raise bad_request("'run_tests' must be a boolean")
    if "url" in body:
        webhook["url"] = check_url(body["url"])
    if "events" in body:
        webhook["events"] = check_events(body["events"])
    if "active" in body:
        if not isinstance(body["active"], bool):
            raise bad_request("'active' must be a boolean")
        webhook["active"] = body["active"]
    if "secret" in body:
        webhook["secret"] = body["secret"]


def render(webhook: dict[str, Any]) -> dict[str, Any]:
    data = dict(webhook)
    data["secret"] = "******"  # the real API never echoes the secret
    return data


def by_user(**data: Any) -> dict[str, Any]:
    """`data` of the events a user's action causes (pause, resume, edit, Sync now, re-syncs, delete).
    Fivetran documents no payload for them; `actor` follows its note that a pause it makes itself says
    `actor: Fivetran` (docs/logs/changelog, Jan 2024), the rest is the emulator's choice."""
    return {"actor": USER_EMAIL, **data}


def payload(event: str, connection: dict[str, Any], *, sync_id: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "event": event,
        "created": webhook_timestamp(),
        "connector_type": connection["service"],
        "connector_id": connection["id"],
        "connector_name": connection["schema"],
    }
    if sync_id:
        body["sync_id"] = sync_id
    body["destination_group_id"] = connection["group_id"]
    if data is not None:
        body["data"] = data
    return body


def check_payload() -> dict[str, Any]:
    """What Fivetran POSTs to a webhook's URL on creation or activation: no sync_id, the older group_id
    key, dummy ids (docs/rest-api/troubleshooting/sync-id-field-required-error)."""
    return {
        "event": "test_event",
        "created": webhook_timestamp(),
        "connector_type": "_connector_type",
        "connector_id": "_connector_1",
        "group_id": "_destination_1",
    }


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def signature(secret: str, raw_body: bytes) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().upper()


async def post(client: httpx.AsyncClient, webhook: dict[str, Any], body: dict[str, Any]) -> httpx.Response:
    raw = encode(body)
    headers = {"Content-Type": "application/json"}
    if webhook.get("secret"):
        headers[SIGNATURE_HEADER] = signature(webhook["secret"], raw)
    return await client.post(webhook["url"], content=raw, headers=headers, timeout=DELIVERY_TIMEOUT_SECONDS)


class Deliverer:
    """Sends events in the background, in order per connection, never failing the caller."""

    def __init__(self, store: Store):
        self.store = store
        self._tails: dict[str, asyncio.Task] = {}
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None

    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            self._client = httpx.AsyncClient()
            self._client_loop = loop
        return self._client

    def subscribers(self, event: str, group_id: str) -> Iterable[dict[str, Any]]:
        for webhook in self.store.all(WEBHOOK):
            if not webhook["active"] or event not in webhook["events"]:
                continue
            if webhook["type"] == "account" or webhook.get("group_id") == group_id:
                yield webhook

    def send(self, event: str, connection: dict[str, Any], *, sync_id: str | None = None, data: dict[str, Any] | None = None) -> None:
        targets = list(self.subscribers(event, connection["group_id"]))
        if not targets:
            return
        body = payload(event, connection, sync_id=sync_id, data=data)
        previous = self._tails.get(connection["id"])
        if previous is not None and (previous.done() or previous.get_loop() is not asyncio.get_running_loop()):
            previous = None
        self._tails[connection["id"]] = asyncio.get_running_loop().create_task(self._deliver(previous, targets, body))

    async def _deliver(self, previous: asyncio.Task | None, targets: list[dict[str, Any]], body: dict[str, Any]) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        for webhook in targets:
            try:
                response = await post(self._http(), webhook, body)
                if response.status_code >= 300:
                    log.warning("webhook %s answered %s to %s", webhook["id"], response.status_code, body["event"])
            except httpx.HTTPError as exc:
                log.warning("webhook %s delivery of %s failed: %s", webhook["id"], body["event"], exc)

    async def check(self, webhook: dict[str, Any]) -> str | None:
        """The one test POST Fivetran makes before it creates or activates a webhook: None when the
        endpoint answered 2xx, else why not (docs/rest-api/webhooks, "URL")."""
        try:
            response = await post(self._http(), webhook, check_payload())
        except httpx.HTTPError as exc:
            return f"the endpoint is not reachable ({type(exc).__name__})"
        if not response.is_success:
            return f"the endpoint answered {response.status_code}"
        return None

    async def test(self, webhook: dict[str, Any], event: str) -> dict[str, Any]:
        """POST /webhooks/{id}/test: a dummy payload for connector `_connector_1`, answered synchronously."""
        dummy = {"service": "_service", "id": "_connector_1", "schema": "_connector_1", "group_id": webhook.get("group_id") or "_group_1"}
        body = payload(event, dummy, sync_id="00000000-0000-0000-0000-000000000000",
                       data={"status": "SUCCESSFUL"} if event == "sync_end" else None)
        try:
            response = await post(self._http(), webhook, body)
        except httpx.HTTPError as exc:
            return {"succeed": False, "status": 0, "message": str(exc) or type(exc).__name__}
        return {"succeed": response.is_success, "status": response.status_code, "message": response.reason_phrase or ""}
