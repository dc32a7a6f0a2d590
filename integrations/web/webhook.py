"""Fivetran's webhook: a signed doorbell. It never changes state itself; it tells the connection's
workflow to look now (the step then reads Fivetran's status, so a forged or stale call changes nothing)."""

import hashlib
import hmac
import json
import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.engine import dispatch
from integrations.engine import messages as m
from integrations.models import Integration
from integrations.state import transitions

logger = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Fivetran-Signature-256"


def signature_valid(body: bytes, signature: str | None, secret: str | None) -> bool:
    if not secret or not signature:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Fivetran sends upper-case hex; compare case-insensitively, in constant time, on the raw body.
    # Bytes, not str: a header with non-ASCII characters must be a mismatch, not a crash.
    return hmac.compare_digest(expected.upper().encode(), signature.strip().upper().encode("utf-8", "replace"))


def parse_payload(body: bytes) -> tuple[dict, str | None]:
    """The payload as a JSON object, or why it is not one. A signature proves who sent the body,
    not that it is well formed (a bug or a replayed test event at Fivetran's end)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser's stack
        return {}, "the body must be JSON"
    if not isinstance(payload, dict):
        return {}, "the body must be a JSON object"
    return payload, None


@csrf_exempt
@require_POST
async def fivetran_webhook(request):
    if not signature_valid(request.body, request.headers.get(SIGNATURE_HEADER), settings.FIVETRAN_WEBHOOK_SECRET):
        return JsonResponse({"error": "bad or missing signature"}, status=401)
    payload, error = parse_payload(request.body)
    if error:
        return JsonResponse({"error": error}, status=400)
    # Newer payloads may say connection_id; older ones connector_id.
    connection_id = payload.get("connection_id") or payload.get("connector_id")
    if connection_id is not None and not isinstance(connection_id, str):
        return JsonResponse({"error": "connection_id must be a string"}, status=400)
    logger.info("fivetran webhook %s for %s", payload.get("event"), connection_id)
    integration_id = await _integration_of(connection_id) if isinstance(connection_id, str) and connection_id else None
    if integration_id is not None:
        reason = _failure_reason(payload)
        if reason:
            await sync_to_async(transitions.sync_reason_record)(connection_id, reason)
        await dispatch.fivetran_changed(integration_id, fivetran_event(payload))
    return HttpResponse(status=204)


def fivetran_event(payload: dict) -> m.FivetranEvent:
    """The ids and words of a webhook for the connection's workflow; never its state."""
    data = payload.get("data") if isinstance(payload.get("data"), dict) else {}

    def text(value) -> str:
        return value if isinstance(value, str) else ""

    return m.FivetranEvent(
        event=text(payload.get("event")),
        sync_id=text(payload.get("sync_id")),
        status=text(data.get("status")),
        reason=text(data.get("reason"))[:2000],
        created=text(payload.get("created")),
    )


def _failure_reason(payload: dict) -> str:
    """Fivetran's words for a failed sync, which its status endpoint does not give. Only words: what
    the sync's state is, the workflow reads from Fivetran's status itself."""
    data = payload.get("data")
    if payload.get("event") != "sync_end" or not isinstance(data, dict):
        return ""
    reason = data.get("reason")
    # FAILURE, FAILURE_WITH_TASK, FAILED (some clients' spelling), CANCELED: all but these two fail.
    if str(data.get("status", "")).upper() not in ("SUCCESSFUL", "RESCHEDULED") and isinstance(reason, str):
        return reason
    return ""


async def _integration_of(connection_id: str) -> int | None:
    return await Integration.objects.filter(connection_id=connection_id).values_list("pk", flat=True).afirst()
