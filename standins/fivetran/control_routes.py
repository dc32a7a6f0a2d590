"""The test control API (not Fivetran's): inject faults, read the request log, complete a card, set
the time scale of Fivetran's schedule, look at a connection's emulator state."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import connections
from .clock import api_timestamp, check_time_scale
from .context import Emulator
from .responses import bad_request, envelope, json_body
from .samples import destination_name, new_source_table


class ControlApi:
    def __init__(self, emulator: Emulator):
        self.em = emulator

    async def add_fault(self, request: Request) -> JSONResponse:
        fault = self.em.faults.add(await json_body(request, required=True))
        return JSONResponse(fault.as_dict(), status_code=201)

    async def list_faults(self, request: Request) -> JSONResponse:
        return JSONResponse({"items": [fault.as_dict() for fault in self.em.faults.all()]})

    async def clear_faults(self, request: Request) -> JSONResponse:
        self.em.faults.clear()
        return JSONResponse({"items": []})

    async def list_requests(self, request: Request) -> JSONResponse:
        return JSONResponse({"items": list(self.em.request_log.items)})

    async def clear_requests(self, request: Request) -> JSONResponse:
        self.em.request_log.clear()
        return JSONResponse({"items": []})

    async def complete_card(self, request: Request) -> JSONResponse:
        """Same as submitting the Connect Card; answers like GET /v1/connections/{id}."""
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        return envelope(connections.render(self.em.lifecycle.complete_card(connection_id)))

    async def add_table(self, request: Request) -> JSONResponse:
        """The source gains a table: {"table", "schema"?, "columns"?: ["id:INT64", "name", …], "rows"?}.
        Fivetran sees it at the next sync (or a schema reload), enabled only under ALLOW_ALL."""
        connection = self.em.connection(request.path_params["connection_id"])
        service = self.em.services[connection["service"]]
        table = new_source_table(service, connection, await json_body(request, required=True))
        self.em.lifecycle.add_source_table(connection["id"], table)
        return JSONResponse({**table, "name_in_destination": destination_name(table["table"])}, status_code=201)

    async def delete_connection(self, request: Request) -> JSONResponse:
        """Someone deleted the connection in Fivetran's dashboard: the same as DELETE /v1/connections/{id},
        without the product asking; later calls answer 404 NotFound_Integration."""
        connection_id = request.path_params["connection_id"]
        self.em.connection(connection_id)
        self.em.lifecycle.delete(connection_id)
        return JSONResponse({"deleted": connection_id})

    def _clock(self) -> JSONResponse:
        return JSONResponse({"time_scale": self.em.lifecycle.time_scale, "now": api_timestamp()})

    async def get_clock(self, request: Request) -> JSONResponse:
        return self._clock()

    async def set_clock(self, request: Request) -> JSONResponse:
        """{"time_scale": 60}: Fivetran's schedule runs 60 times faster (an hourly sync every minute)."""
        body = await json_body(request, required=True)
        try:
            time_scale = check_time_scale(body.get("time_scale"))
        except ValueError as exc:
            raise bad_request(str(exc)) from exc
        self.em.lifecycle.set_time_scale(time_scale)
        return self._clock()

    async def connection_state(self, request: Request) -> JSONResponse:
        """What Fivetran does not show: when the next sync starts, the running sync, what each table
        holds in the destination."""
        connection = self.em.connection(request.path_params["connection_id"])
        return JSONResponse({
            "id": connection["id"],
            "next_sync_at": self.em.lifecycle.next_due(connection),
            "last_sync_started_at": connection.get("last_sync_started_at"),
            "sync": connection["sync"],
            "landed_tables": connection.get("landed_tables", {}),
        })

    def routes(self) -> list[Route]:
        return [
            Route("/_control/faults", self.add_fault, methods=["POST"]),
            Route("/_control/faults", self.list_faults, methods=["GET"]),
            Route("/_control/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_control/requests", self.list_requests, methods=["GET"]),
            Route("/_control/requests", self.clear_requests, methods=["DELETE"]),
            Route("/_control/connections/{connection_id}/complete-card", self.complete_card, methods=["POST"]),
            Route("/_control/connections/{connection_id}/add-table", self.add_table, methods=["POST"]),
            Route("/_control/connections/{connection_id}", self.connection_state, methods=["GET"]),
            Route("/_control/connections/{connection_id}", self.delete_connection, methods=["DELETE"]),
            Route("/_control/clock", self.get_clock, methods=["GET"]),
            Route("/_control/clock", self.set_clock, methods=["PUT"]),
        ]
