"""Fivetran REST API v1 routes (§2), served under both /v1/connections and /v1/connectors."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import card, connections
from .account import account_info, user, users
from .context import Emulator, base_url
from .ids import new_id
from .metadata import connector_type, connector_type_details
from .responses import ApiError, bad_request, envelope, json_body, page
from .store import CONNECTION
from .webhooks import by_user


def _sync_message(connection_id: str) -> str:
    return f"Sync has been successfully triggered for connection with id '{connection_id}'"


class FivetranApi:
    def __init__(self, emulator: Emulator):
        self.em = emulator

    # --- account, groups, destinations, metadata ---------------------------------------------------

    async def account_info(self, request: Request) -> JSONResponse:
        return envelope(account_info())

    async def list_users(self, request: Request) -> JSONResponse:
        """GET /v1/users, what Airflow's Fivetran connection "Test" calls (docs/rest-api/users)."""
        return envelope(page(request, users()))

    async def get_user(self, request: Request) -> JSONResponse:
        return envelope(user(request.path_params["user_id"]))

    async def list_groups(self, request: Request) -> JSONResponse:
        return envelope(page(request, self.em.groups.all()))

    async def get_group(self, request: Request) -> JSONResponse:
        return envelope(self.em.groups.group(request.path_params["group_id"]))

    async def group_connections(self, request: Request) -> JSONResponse:
        """The `schema` query parameter keeps only the connection of that name
        (docs/rest-api/api-reference/groups/list-all-connectors-in-group)."""
        group_id = request.path_params["group_id"]
        self.em.groups.require(group_id)
        schema = request.query_params.get("schema")
        items = [
            connections.render(c, detail=False)
            for c in self.em.store.all(CONNECTION)
            if c["group_id"] == group_id and (schema is None or c["schema"] == schema)
        ]
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
        self.em.deliverer.send("create_connector", connection, data=by_user())
        self.em.lifecycle.platform.connection_changed(connection)
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
        connection = self.em.lifecycle.update(connection_id, await json_body(request))
        data = connections.render(connection)
        data["setup_tests"] = []
        return envelope(data, message="Connection has been updated")

    async def delete_connection(self, request: Request) -> JSONResponse:
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        self.em.lifecycle.delete(connection_id)
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

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        routes = [
            Route("/v1/account/info", self.account_info, methods=["GET"]),
            Route("/v1/users", self.list_users, methods=["GET"]),
            Route("/v1/users/{user_id}", self.get_user, methods=["GET"]),
            Route("/v1/groups", self.list_groups, methods=["GET"]),
            Route("/v1/groups/{group_id}", self.get_group, methods=["GET"]),
            Route("/v1/groups/{group_id}/connections", self.group_connections, methods=["GET"]),
            Route("/v1/groups/{group_id}/connectors", self.group_connections, methods=["GET"]),
            Route("/v1/destinations/{group_id}", self.get_destination, methods=["GET"]),
        ]
        for spelling in ("connector-types", "connectors", "connections"):
            routes.append(Route(f"/v1/metadata/{spelling}", self.list_connector_types, methods=["GET"]))
            routes.append(Route(f"/v1/metadata/{spelling}/{{service}}", self.get_connector_type, methods=["GET"]))
        for prefix in ("/v1/connections", "/v1/connectors"):
            one = prefix + "/{connection_id}"
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
            ]
        return routes
