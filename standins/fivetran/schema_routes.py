"""Connection schema routes (§2.7): the schema config, its narrower PATCHes, columns, table re-syncs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import schema_config
from .columns import full_columns, source_tables
from .context import Emulator
from .responses import bad_request, envelope, json_body
from .store import SCHEMA_CONFIG

# docs/rest-api/api-reference/connection-schema/resync-tables
TABLES_RESYNC_MESSAGE = "Re-sync has been triggered successfully"
# go-fivetran connection_resync_table_test.go (docs/reference/fivetran-api.md §2.6)
TABLE_RESYNC_MESSAGE = "Table resync initiated"


def _tables_scope(body: dict[str, Any]) -> dict[str, list[str]]:
    """The body of POST …/schemas/tables/resync is the scope itself: {"<schema>": ["<table>", …]}."""
    if not body or not all(
        isinstance(tables, list) and tables and all(isinstance(table, str) for table in tables) for tables in body.values()
    ):
        raise bad_request("The body must map each schema to a non-empty list of table names")
    return body


class SchemaApi:
    def __init__(self, emulator: Emulator):
        self.em = emulator

    def _schema_config(self, connection_id: str) -> dict[str, Any]:
        self.em.connection(connection_id)
        config = self.em.store.get(SCHEMA_CONFIG, connection_id)
        if config is None:
            raise schema_config.schema_not_found(connection_id)
        return config

    def _source(self, connection_id: str):
        connection = self.em.connection(connection_id)
        return source_tables(self.em.services[connection["service"]], connection)

    def _save_patch(self, connection_id: str, body: dict[str, Any]) -> JSONResponse:
        current = self._schema_config(connection_id)
        updated = schema_config.apply_patch(connection_id, current, body, self._source(connection_id))
        self.em.store.put(SCHEMA_CONFIG, connection_id, updated)
        self.em.lifecycle.platform.schema_changed(self.em.connection(connection_id), current, updated)
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
        reloaded = schema_config.reload(current, service, connection, body.get("exclude_mode", "PRESERVE"))
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
        """Every column of the table as the source has it, with the user's settings over them
        (docs/developer-resources/rest-api/api-reference/connection-schema/connection-column-config)."""
        connection_id, schema, table = (request.path_params[key] for key in ("connection_id", "schema", "table"))
        table_doc = schema_config.table_entry(connection_id, self._schema_config(connection_id), schema, table)
        return envelope({"columns": full_columns(self._source(connection_id).get((schema, table)), table_doc)})

    def _resync(self, connection_id: str, scope: dict[str, list[str]]) -> None:
        config = self._schema_config(connection_id)
        for schema, tables in scope.items():
            for table in tables:
                schema_config.table_entry(connection_id, config, schema, table)
        self.em.lifecycle.resync(connection_id, scope, historical=False)

    async def resync_tables(self, request: Request) -> JSONResponse:
        """POST …/schemas/tables/resync: a historical re-sync of just these tables
        (docs/rest-api/api-reference/connection-schema/resync-tables)."""
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        self._resync(connection_id, _tables_scope(await json_body(request, required=True)))
        return envelope(message=TABLES_RESYNC_MESSAGE)

    async def resync_table(self, request: Request) -> JSONResponse:
        """POST …/schemas/{schema}/tables/{table}/resync, the single-table form go-fivetran calls."""
        params = request.path_params
        self.em.connection(params["connection_id"])
        self._resync(params["connection_id"], {params["schema"]: [params["table"]]})
        return envelope(message=TABLE_RESYNC_MESSAGE)

    def routes(self) -> list[Route]:
        routes = []
        for prefix in ("/v1/connections", "/v1/connectors"):
            schemas = prefix + "/{connection_id}/schemas"
            table = schemas + "/{schema}/tables/{table}"
            routes += [
                Route(schemas, self.get_schemas, methods=["GET"]),
                Route(schemas, self.patch_schemas, methods=["PATCH"]),
                Route(schemas, self.create_schemas, methods=["POST"]),
                Route(schemas + "/reload", self.reload_schemas, methods=["POST"]),
                Route(schemas + "/tables/resync", self.resync_tables, methods=["POST"]),
                Route(schemas + "/{schema}", self.patch_schema, methods=["PATCH"]),
                Route(table, self.patch_table, methods=["PATCH"]),
                Route(table + "/resync", self.resync_table, methods=["POST"]),
                Route(table + "/columns", self.table_columns, methods=["GET"]),
                Route(table + "/columns/{column}", self.patch_column, methods=["PATCH"]),
            ]
        return routes
