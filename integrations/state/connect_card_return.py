"""The signed, one-time return URL of a Connect Card: forged, foreign or replayed returns are refused."""

import secrets

from django.core import signing
from django.db import transaction

from integrations.models import Integration

RETURN_TOKEN_SALT = "integrations.connect-card-return"
RETURN_TOKEN_MAX_AGE = 2 * 24 * 3600  # a Connect Card lives one day; allow the user a margin


class InvalidReturn(Exception):
    """A Connect Card return that is forged, foreign or replayed."""


def return_token(integration: Integration) -> str:
    return signing.dumps({"i": integration.pk, "n": integration.return_nonce}, salt=RETURN_TOKEN_SALT)


@transaction.atomic
def return_nonce_renew(integration_id: int) -> Integration:
    """A fresh one-time nonce for the next Connect Card's return URL (the old link stops working)."""
    Integration.objects.filter(pk=integration_id).update(return_nonce=secrets.token_urlsafe(24))
    return Integration.objects.get(pk=integration_id)


@transaction.atomic
def connect_card_returned(integration_id: int, token: str) -> None:
    """Accept a signed, unused return for this integration (then the caller tells its workflow)."""
    try:
        claims = signing.loads(token, salt=RETURN_TOKEN_SALT, max_age=RETURN_TOKEN_MAX_AGE)
    except signing.BadSignature as exc:
        raise InvalidReturn("This Connect Card link is not valid.") from exc
    integration = Integration.objects.select_for_update().get(pk=integration_id)
    if claims.get("i") != integration.pk:
        raise InvalidReturn("This Connect Card link belongs to another integration.")
    if not integration.return_nonce or claims.get("n") != integration.return_nonce:
        raise InvalidReturn("This Connect Card link has already been used.")
    integration.return_nonce = ""
    integration.save(update_fields=["return_nonce", "updated_at"])
