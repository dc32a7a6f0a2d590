"""The test control API (not Fivetran's): inject faults, read the request log, complete a card."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import connections
from .context import Emulator
from .responses import envelope, json_body


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

    def routes(self) -> list[Route]:
        return [
            Route("/_control/faults", self.add_fault, methods=["POST"]),
            Route("/_control/faults", self.list_faults, methods=["GET"]),
            Route("/_control/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_control/requests", self.list_requests, methods=["GET"]),
            Route("/_control/requests", self.clear_requests, methods=["DELETE"]),
            Route("/_control/connections/{connection_id}/complete-card", self.complete_card, methods=["POST"]),
        ]
