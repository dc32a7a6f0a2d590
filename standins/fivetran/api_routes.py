"""Fivetran REST API v1 routes (§2), served under both /v1/connections and /v1/connectors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import card, connections, schema_config, webhooks
from .account import account_info
from .clock import webhook_timestamp
from .context import Emulator, base_url
from .ids import new_id
from .metadata import connector_type, connector_type_details
from .responses import ApiError, bad_request, envelope, json_body, page
from .store import CONNECTION, SCHEMA_CONFIG, WEBHOOK


def _webhook_not_found(webhook_id: str) -> ApiError:
    # The real code for an unknown webhook is unverified; this follows NotFound_Integration.
    return ApiError(404, "NotFound_Webhook", f"Cannot find entity 'Webhook' with id '{webhook_id}'")


def _sync_message(connection_id: str) -> str:
    return f"Sync has been successfully triggered for connection with id '{connection_id}'"


class FivetranApi:
    def __init__(self, emulator: Emulator):
        self.em = emulator

    # --- account, groups, destinations, metadata ---------------------------------------------------

    async def account_info(self, request: Request) -> JSONResponse:
        return envelope(account_info())

    async def list_groups(self, request: Request) -> JSONResponse:
        return envelope(page(request, self.em.groups.all()))

    async def get_group(self, request: Request) -> JSONResponse:
        return envelope(self.em.groups.group(request.path_params["group_id"]))

    async def group_connections(self, request: Request) -> JSONResponse:
        group_id = request.path_params["group_id"]
        self.em.groups.require(group_id)
        items = [connections.render(c, detail=False) for c in self.em.store.all(CONNECTION) if c["group_id"] == group_id]
        return envelope(page(request, items))

    async def get_destination(self, request: Request) -> JSONResponse:
        return envelope(self.em.groups.destination(request.path_params["group_id"]))

    async def list_connector_types(self, request: Request) -> JSONResponse:
        items = [connector_type(service) for service in self.em.services.values()]
        return envelope(page(request, items))

    async def get_connector_type(self, request: Request) -> JSONResponse:
        service = self.em.services.get(request.path_params["service"])
        if service is None:
            # The real code for an unknown service is unverified.
            raise ApiError(404, "NotFound_Service", f"Cannot find entity 'Service' with id '{request.path_params['service']}'")
        return envelope(connector_type_details(service))

    # --- connections --------------------------------------------------------------------------------

    def _card(self, request: Request, connection: dict[str, Any]) -> dict[str, Any]:
        token = card.make_token(self.em.api_secret, connection_id=connection["id"], group_id=connection["group_id"])
        return card.card_response(base_url(request), token, connection["connect_card_config"])

    async def create_connection(self, request: Request) -> JSONResponse:
        body = await json_body(request, required=True)
        group_id, service_id = body.get("group_id"), body.get("service")
        if not isinstance(group_id, str) or not group_id:
            raise bad_request("Field 'group_id' is required")
        if not isinstance(service_id, str) or not service_id:
            raise bad_request("Field 'service' is required")
        service = self.em.services.get(service_id)
        if service is None:
            raise bad_request(f"Unknown service '{service_id}'")
        self.em.groups.require(group_id)
        connection_id = new_id(lambda candidate: self.em.store.exists(CONNECTION, candidate))
        connection = connections.new_connection(connection_id, service, group_id, body)
        if any(c["group_id"] == group_id and c["schema"] == connection["schema"] for c in self.em.store.all(CONNECTION)):
            raise connections.schema_name_taken(connection["schema"])
        self.em.store.put(CONNECTION, connection_id, connection)
        data = connections.render(connection)
        data.pop("connect_card_config", None)  # re-added last, in the order of the real response
        data["setup_tests"] = []
        if connection["connect_card_config"]:
            data["connect_card"] = self._card(request, connection)
            data["connect_card_config"] = connection["connect_card_config"]
        return envelope(data, message="Connection has been created", status=201)

    async def list_connections(self, request: Request) -> JSONResponse:
        group_id = request.query_params.get("group_id")
        schema = request.query_params.get("schema")
        items = [
            connections.render(c, detail=False)
            for c in self.em.store.all(CONNECTION)
            if (group_id is None or c["group_id"] == group_id) and (schema is None or c["schema"] == schema)
        ]
        return envelope(page(request, items), message="Operation performed.")

    async def get_connection(self, request: Request) -> JSONResponse:
        return envelope(connections.render(self.em.connection(request.path_params["connection_id"])))

    async def update_connection(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        body = await json_body(request)
        if "paused" in body and not isinstance(body["paused"], bool):
            raise bad_request("'paused' must be a boolean")
        if "is_historical_sync" in body and not isinstance(body["is_historical_sync"], bool):
            raise bad_request("'is_historical_sync' must be a boolean")

        def change(connection: dict[str, Any]) -> None:
            connections.apply_update(connection, body)
            if body.get("is_historical_sync"):
                connection["is_historical_sync"] = True
            if "paused" in body:
                self.em.lifecycle.set_paused(connection, body["paused"])

        # Validate on a scratch copy first, so a refused PATCH changes nothing.
        scratch = self.em.connection(connection_id)
        connections.apply_update(scratch, body)
        connection = self.em.store.update(CONNECTION, connection_id, change)
        self.em.lifecycle.ensure_driver(connection_id)
        data = connections.render(connection)
        data["setup_tests"] = []
        return envelope(data, message="Connection has been updated")

    async def delete_connection(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        self.em.lifecycle.forget(connection_id)
        self.em.store.delete(CONNECTION, connection_id)
        self.em.store.delete(SCHEMA_CONFIG, connection_id)
        return envelope(message="Connection has been deleted")

    async def connect_card(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        body = await json_body(request, required=True)
        card_config = connections.check_connect_card_config(body.get("connect_card_config"))
        connection = self.em.store.update(CONNECTION, connection_id, lambda c: c.update(connect_card_config=card_config))
        data = {"connector_id": connection_id, "connect_card": self._card(request, connection), "connect_card_config": card_config}
        return envelope(data, message="Connection Connect Card has been created")

    async def sync(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        body = await json_body(request)
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise bad_request("'force' must be a boolean")
        # Fivetran's answer for a paused or unconnected connection is unverified (§8): accept and ignore.
        self.em.lifecycle.trigger_sync(connection_id, force=force)
        return envelope(message=_sync_message(connection_id))

    async def force(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        self.em.lifecycle.trigger_sync(connection_id, force=True)
        return envelope(message=_sync_message(connection_id))

    async def resync(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        connection = self.em.connection(connection_id)
        body = await json_body(request)
        scope = body.get("scope")
        if "scope" in body:
            if not isinstance(scope, dict) or not scope or not all(
                isinstance(tables, list) and tables and all(isinstance(t, str) for t in tables) for tables in scope.values()
            ):
                raise bad_request("'scope' must map schemas to non-empty lists of tables")
            if not self.em.services[connection["service"]].is_database:
                raise bad_request(f"Resync with a scope is not supported for service '{connection['service']}'")
        self.em.lifecycle.resync(connection_id, scope)
        return envelope(message=_sync_message(connection_id))

    async def setup_tests(self, request: Request) -> JSONResponse:
        connection = self.em.connection(request.path_params["connection_id"])
        await json_body(request)
        if connection["setup_state"] == "connected":
            tests = [{"title": "Validating credentials", "status": "PASSED", "message": "", "details": ""}]
        else:
            tests = [{"title": "Validating credentials", "status": "FAILED",
                      "message": "Credentials are missing or invalid: complete the Connect Card", "details": ""}]
        data = connections.render(connection)
        data["setup_tests"] = tests
        return envelope(data, message="Setup tests have been completed")

    # --- schema config ------------------------------------------------------------------------------

    def _schema_config(self, connection_id: str) -> dict[str, Any]:
        self.em.connection(connection_id)
        config = self.em.store.get(SCHEMA_CONFIG, connection_id)
        if config is None:
            raise schema_config.schema_not_found(connection_id)
        return config

    def _save_patch(self, connection_id: str, body: dict[str, Any]) -> JSONResponse:
        updated = schema_config.apply_patch(connection_id, self._schema_config(connection_id), body)
        self.em.store.put(SCHEMA_CONFIG, connection_id, updated)
        return envelope(updated)

    async def get_schemas(self, request: Request) -> JSONResponse:
        return envelope(self._schema_config(request.path_params["connection_id"]))

    async def patch_schemas(self, request: Request) -> JSONResponse:
        return self._save_patch(request.path_params["connection_id"], await json_body(request))

    async def create_schemas(self, request: Request) -> JSONResponse:
        """POST …/schemas: set the schema up before the first sync (captures it if needed)."""
        connection = self.em.connection(request.path_params["connection_id"])
        body = await json_body(request)
        self.em.lifecycle.ensure_schema_config(connection)
        return self._save_patch(connection["id"], body)

    async def reload_schemas(self, request: Request) -> JSONResponse:
        connection = self.em.connection(request.path_params["connection_id"])
        body = await json_body(request)
        current = self.em.store.get(SCHEMA_CONFIG, connection["id"])
        service = self.em.services[connection["service"]]
        reloaded = schema_config.reload(current, service, connection["config"], body.get("exclude_mode", "PRESERVE"))
        self.em.store.put(SCHEMA_CONFIG, connection["id"], reloaded)
        return envelope(reloaded)

    async def patch_schema(self, request: Request) -> JSONResponse:
        params = request.path_params
        body = {"schemas": {params["schema"]: await json_body(request)}}
        return self._save_patch(params["connection_id"], body)

    async def patch_table(self, request: Request) -> JSONResponse:
        params = request.path_params
        body = {"schemas": {params["schema"]: {"tables": {params["table"]: await json_body(request)}}}}
        return self._save_patch(params["connection_id"], body)

    async def patch_column(self, request: Request) -> JSONResponse:
        params = request.path_params
        column_patch = {"columns": {params["column"]: await json_body(request)}}
        body = {"schemas": {params["schema"]: {"tables": {params["table"]: column_patch}}}}
        return self._save_patch(params["connection_id"], body)

    async def table_columns(self, request: Request) -> JSONResponse:
        params = request.path_params
        config = self._schema_config(params["connection_id"])
        table = schema_config.table_entry(params["connection_id"], config, params["schema"], params["table"])
        return envelope({"columns": table.get("columns", {})})

    # --- webhooks -----------------------------------------------------------------------------------

    def _create_webhook(self, body: dict[str, Any], group_id: str | None) -> dict[str, Any]:
        webhook_id = new_id(lambda candidate: self.em.store.exists(WEBHOOK, candidate))
        webhook = webhooks.new_webhook(webhook_id, body, group_id=group_id, created_at=webhook_timestamp())
        return self.em.store.put(WEBHOOK, webhook_id, webhook)

    async def create_account_webhook(self, request: Request) -> JSONResponse:
        webhook = self._create_webhook(await json_body(request, required=True), None)
        return envelope(webhooks.render(webhook), message="Account webhook has been created")

    async def create_group_webhook(self, request: Request) -> JSONResponse:
        group_id = request.path_params["group_id"]
        self.em.groups.require(group_id)
        webhook = self._create_webhook(await json_body(request, required=True), group_id)
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
        webhook = self._webhook(request.path_params["webhook_id"])
        webhooks.apply_update(webhook, await json_body(request))
        self.em.store.put(WEBHOOK, webhook["id"], webhook)
        return envelope(webhooks.render(webhook), message="Webhook has been updated")

    async def delete_webhook(self, request: Request) -> JSONResponse:
        webhook_id = request.path_params["webhook_id"]
        self._webhook(webhook_id)
        self.em.store.delete(WEBHOOK, webhook_id)
        return envelope(message="Webhook has been deleted")

    async def test_webhook(self, request: Request) -> JSONResponse:
        webhook = self._webhook(request.path_params["webhook_id"])
        event = (await json_body(request)).get("event", "sync_start")
        if event not in webhooks.EVENTS:
            raise bad_request(f"Unknown webhook event '{event}'")
        return envelope(await self.em.deliverer.test(webhook, event))

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        routes = [
            Route("/v1/account/info", self.account_info, methods=["GET"]),
            Route("/v1/groups", self.list_groups, methods=["GET"]),
            Route("/v1/groups/{group_id}", self.get_group, methods=["GET"]),
            Route("/v1/groups/{group_id}/connections", self.group_connections, methods=["GET"]),
            Route("/v1/groups/{group_id}/connectors", self.group_connections, methods=["GET"]),
            Route("/v1/destinations/{group_id}", self.get_destination, methods=["GET"]),
            Route("/v1/webhooks", self.list_webhooks, methods=["GET"]),
            Route("/v1/webhooks/account", self.create_account_webhook, methods=["POST"]),
            Route("/v1/webhooks/group/{group_id}", self.create_group_webhook, methods=["POST"]),
            Route("/v1/webhooks/{webhook_id}", self.get_webhook, methods=["GET"]),
            Route("/v1/webhooks/{webhook_id}", self.update_webhook, methods=["PATCH"]),
            Route("/v1/webhooks/{webhook_id}", self.delete_webhook, methods=["DELETE"]),
            Route("/v1/webhooks/{webhook_id}/test", self.test_webhook, methods=["POST"]),
        ]
        for spelling in ("connector-types", "connectors", "connections"):
            routes.append(Route(f"/v1/metadata/{spelling}", self.list_connector_types, methods=["GET"]))
            routes.append(Route(f"/v1/metadata/{spelling}/{{service}}", self.get_connector_type, methods=["GET"]))
        for prefix in ("/v1/connections", "/v1/connectors"):
            one = prefix + "/{connection_id}"
            table = one + "/schemas/{schema}/tables/{table}"
            routes += [
                Route(prefix, self.create_connection, methods=["POST"]),
                Route(prefix, self.list_connections, methods=["GET"]),
                Route(one, self.get_connection, methods=["GET"]),
                Route(one, self.update_connection, methods=["PATCH"]),
                Route(one, self.delete_connection, methods=["DELETE"]),
                Route(one + "/connect-card", self.connect_card, methods=["POST"]),
                Route(one + "/sync", self.sync, methods=["POST"]),
                Route(one + "/force", self.force, methods=["POST"]),
                Route(one + "/resync", self.resync, methods=["POST"]),
                Route(one + "/test", self.setup_tests, methods=["POST"]),
                Route(one + "/schemas", self.get_schemas, methods=["GET"]),
                Route(one + "/schemas", self.patch_schemas, methods=["PATCH"]),
                Route(one + "/schemas", self.create_schemas, methods=["POST"]),
                Route(one + "/schemas/reload", self.reload_schemas, methods=["POST"]),
                Route(one + "/schemas/{schema}", self.patch_schema, methods=["PATCH"]),
                Route(table, self.patch_table, methods=["PATCH"]),
                Route(table + "/columns", self.table_columns, methods=["GET"]),
                Route(table + "/columns/{column}", self.patch_column, methods=["PATCH"]),
            ]
        return routes
