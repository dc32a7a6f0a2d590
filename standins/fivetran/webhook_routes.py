"""Webhook management routes (§2.10): create (account or group), list, get, update, delete, test."""

from __future__ import annotations

import copy
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import webhooks
from .clock import webhook_timestamp
from .context import Emulator
from .ids import new_id
from .responses import ApiError, bad_request, envelope, json_body, page
from .store import WEBHOOK


def _webhook_not_found(webhook_id: str) -> ApiError:
    # The real code for an unknown webhook is unverified; this follows NotFound_Integration.
    return ApiError(404, "NotFound_Webhook", f"Cannot find entity 'Webhook' with id '{webhook_id}'")


class WebhookApi:
    def __init__(self, emulator: Emulator):
        self.em = emulator

    async def _check_endpoint(self, webhook: dict[str, Any]) -> None:
        """Fivetran tests the URL with one POST and refuses with 400, creating or changing nothing,
        when it is unreachable or answers an unsuccessful status (docs/rest-api/webhooks, "URL")."""
        problem = await self.em.deliverer.check(webhook)
        if problem:
            raise bad_request(f"Webhook test failed for url '{webhook['url']}': {problem}")

    async def _create(self, body: dict[str, Any], group_id: str | None) -> dict[str, Any]:
        webhook_id = new_id(lambda candidate: self.em.store.exists(WEBHOOK, candidate))
        webhook = webhooks.new_webhook(webhook_id, body, group_id=group_id, created_at=webhook_timestamp())
        # `active: false` skips the check until the webhook is activated.
        if webhook["active"]:
            await self._check_endpoint(webhook)
        return self.em.store.put(WEBHOOK, webhook_id, webhook)

    async def create_account_webhook(self, request: Request) -> JSONResponse:
        webhook = await self._create(await json_body(request, required=True), None)
        return envelope(webhooks.render(webhook), message="Account webhook has been created")

    async def create_group_webhook(self, request: Request) -> JSONResponse:
        group_id = request.path_params["group_id"]
        self.em.groups.require(group_id)
        webhook = await self._create(await json_body(request, required=True), group_id)
        return envelope(webhooks.render(webhook), message="Group webhook has been created")

    def _webhook(self, webhook_id: str) -> dict[str, Any]:
        webhook = self.em.store.get(WEBHOOK, webhook_id)
        if webhook is None:
            raise _webhook_not_found(webhook_id)
        return webhook

    async def list_webhooks(self, request: Request) -> JSONResponse:
        return envelope(page(request, [webhooks.render(w) for w in self.em.store.all(WEBHOOK)]))

    async def get_webhook(self, request: Request) -> JSONResponse:
        return envelope(webhooks.render(self._webhook(request.path_params["webhook_id"])))

    async def update_webhook(self, request: Request) -> JSONResponse:
        current = self._webhook(request.path_params["webhook_id"])
        body = await json_body(request)
        webhook = copy.deepcopy(current)
        webhooks.apply_update(webhook, body)
        # Activation is tested like creation; `run_tests` asks for the same test explicitly.
        if webhook["active"] and (not current["active"] or body.get("run_tests") is True):
            await self._check_endpoint(webhook)
        self.em.store.put(WEBHOOK, webhook["id"], webhook)
        return envelope(webhooks.render(webhook), message="Webhook has been updated")

    async def delete_webhook(self, request: Request) -> JSONResponse:
        webhook_id = request.path_params["webhook_id"]
        self._webhook(webhook_id)
        self.em.store.delete(WEBHOOK, webhook_id)
        return envelope(message="Webhook has been deleted")

    async def test_webhook(self, request: Request) -> JSONResponse:
        """POST /v1/webhooks/{id}/test: `event` is required (docs/rest-api/api-reference/webhooks/test-webhook)."""
        webhook = self._webhook(request.path_params["webhook_id"])
        event = (await json_body(request)).get("event")
        if event is None:
            raise bad_request("Field 'event' is required")
        if event not in webhooks.EVENTS:
            raise bad_request(f"Unknown webhook event '{event}'")
        return envelope(await self.em.deliverer.test(webhook, event))

    def routes(self) -> list[Route]:
        return [
            Route("/v1/webhooks", self.list_webhooks, methods=["GET"]),
            Route("/v1/webhooks/account", self.create_account_webhook, methods=["POST"]),
            Route("/v1/webhooks/group/{group_id}", self.create_group_webhook, methods=["POST"]),
            Route("/v1/webhooks/{webhook_id}", self.get_webhook, methods=["GET"]),
            Route("/v1/webhooks/{webhook_id}", self.update_webhook, methods=["PATCH"]),
            Route("/v1/webhooks/{webhook_id}", self.delete_webhook, methods=["DELETE"]),
            Route("/v1/webhooks/{webhook_id}/test", self.test_webhook, methods=["POST"]),
        ]
