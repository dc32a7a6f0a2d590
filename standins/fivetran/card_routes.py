"""The Connect Card page (GET shows the form, POST "Save & Test" or "Cancel")."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlparse

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from . import card
from .context import Emulator
from .store import CONNECTION


class CardPage:
    def __init__(self, emulator: Emulator):
        self.em = emulator

    def _connection_for(self, token: str | None):
        if not token:
            raise card.InvalidToken("missing auth token")
        connection = self.em.store.get(CONNECTION, card.read_token(self.em.api_secret, token))
        if connection is None:
            raise card.InvalidToken("the connection no longer exists")
        return connection

    @staticmethod
    def _redirect_uri(given: str | None, connection: dict) -> str:
        redirect_uri = given or (connection.get("connect_card_config") or {}).get("redirect_uri") or ""
        if urlparse(redirect_uri).scheme not in ("http", "https"):
            raise card.InvalidToken("redirect_uri must be an http(s) URL")
        return redirect_uri

    async def show(self, request: Request) -> Response:
        token = request.query_params.get("auth")
        try:
            connection = self._connection_for(token)
            redirect_uri = self._redirect_uri(request.query_params.get("redirect_uri"), connection)
        except card.InvalidToken as exc:
            return HTMLResponse(card.error_page(f"Invalid Connect Card link: {exc}"), status_code=400)
        service = self.em.services[connection["service"]]
        return HTMLResponse(card.form_page(service_name=service.name, schema=connection["schema"], token=token, redirect_uri=redirect_uri))

    async def submit(self, request: Request) -> Response:
        # Parsed by hand: Starlette's form parser needs python-multipart, and this form is urlencoded.
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        token = form.get("auth") or request.query_params.get("auth")
        try:
            connection = self._connection_for(token)
            redirect_uri = self._redirect_uri(form.get("redirect_uri") or request.query_params.get("redirect_uri"), connection)
        except card.InvalidToken as exc:
            return HTMLResponse(card.error_page(f"Invalid Connect Card link: {exc}"), status_code=400)
        if form.get("action") == "cancel":
            # Nothing changes; the app sees a return without `id` and re-checks the connection.
            return RedirectResponse(redirect_uri, status_code=303)
        if not form.get("api_key", "").strip():
            service = self.em.services[connection["service"]]
            page = card.form_page(service_name=service.name, schema=connection["schema"], token=token,
                                  redirect_uri=redirect_uri, error="Setup tests failed: the API key is required.")
            return HTMLResponse(page, status_code=400)
        self.em.lifecycle.complete_card(connection["id"])
        return RedirectResponse(card.redirect_with_id(redirect_uri, connection["id"]), status_code=303)

    def routes(self) -> list[Route]:
        return [
            Route("/connect-card/setup", self.show, methods=["GET"]),
            Route("/connect-card/setup", self.submit, methods=["POST"]),
        ]
