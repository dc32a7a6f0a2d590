"""The Connect Card: its token, its URI, and the small page that stands in for Fivetran's form (§2.2)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlunparse

from .account import ACCOUNT_ID, USER_ID

TOKEN_LIFETIME_SECONDS = 24 * 3600  # the real token is valid for one day


class InvalidToken(Exception):
    pass


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_token(secret: str, *, connection_id: str, group_id: str) -> str:
    """An HS256 JWT with the payload layout of Fivetran's card tokens, signed with the API secret."""
    header = {"typ": "JWT", "alg": "HS256"}
    issued = int(time.time())
    payload = {
        "d": {"login": True, "user": USER_ID, "account": ACCOUNT_ID, "group": group_id, "connector": connection_id,
              "method": "PbfCard", "identity": False},
        "iat": issued,
        "exp": issued + TOKEN_LIFETIME_SECONDS,
    }
    signing_input = f"{_b64(json.dumps(header, separators=(',', ':')).encode())}.{_b64(json.dumps(payload, separators=(',', ':')).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def read_token(secret: str, token: str) -> str:
    """The connection id in a token this emulator signed; InvalidToken otherwise."""
    try:
        header_part, payload_part, signature_part = token.split(".")
        expected = hmac.new(secret.encode(), f"{header_part}.{payload_part}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature_part)):
            raise InvalidToken("bad signature")
        payload = json.loads(_unb64(payload_part))
        if payload.get("exp", 0) < time.time():
            raise InvalidToken("expired")
        return str(payload["d"]["connector"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc


def card_uri(base_url: str, token: str, card_config: dict[str, Any]) -> str:
    query = {"redirect_uri": card_config["redirect_uri"], "auth": token}
    if card_config.get("hide_setup_guide"):
        query["hide_setup_guide"] = "true"
    return f"{base_url.rstrip('/')}/connect-card/setup?{urlencode(query)}"


def card_response(base_url: str, token: str, card_config: dict[str, Any]) -> dict[str, Any]:
    return {"token": token, "uri": card_uri(base_url, token, card_config)}


def redirect_with_id(redirect_uri: str, connection_id: str) -> str:
    """`redirect_uri` with `id=<connection id>` appended, keeping its own query."""
    parts = urlparse(redirect_uri)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "id"]
    query.append(("id", connection_id))
    return urlunparse(parts._replace(query=urlencode(query)))


_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f6fb;margin:0;display:flex;justify-content:center}
main{background:#fff;margin:48px 16px;padding:32px;border-radius:12px;box-shadow:0 2px 12px #0002;max-width:440px;width:100%}
h1{font-size:1.3rem;margin:0 0 4px}p.sub{color:#556;margin:0 0 24px}
label{display:block;font-weight:600;margin:16px 0 6px}input{width:100%;box-sizing:border-box;padding:8px;border:1px solid #bbc;border-radius:6px}
.buttons{display:flex;gap:12px;margin-top:24px}button{padding:10px 18px;border-radius:6px;border:0;font-weight:600;cursor:pointer}
button.primary{background:#0073ff;color:#fff}button.secondary{background:#e6e9f0;color:#223}
.error{background:#fde8e8;color:#8a1c1c;padding:10px;border-radius:6px}.note{color:#778;font-size:.85rem;margin-top:20px}
"""


def page(*, title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
        f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{_STYLE}</style></head>"
        f"<body><main>{body}</main></body></html>"
    )


def form_page(*, service_name: str, schema: str, token: str, redirect_uri: str, error: str | None = None) -> str:
    error_html = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    body = f"""
<h1>Connect {html.escape(service_name)}</h1>
<p class="sub">Destination schema <code>{html.escape(schema)}</code></p>
{error_html}
<form method="post">
  <input type="hidden" name="auth" value="{html.escape(token)}">
  <input type="hidden" name="redirect_uri" value="{html.escape(redirect_uri)}">
  <label for="api_key">API key</label>
  <input id="api_key" name="api_key" value="emulated-api-key" autocomplete="off">
  <label for="account">Account name</label>
  <input id="account" name="account" value="demo-account">
  <div class="buttons">
    <button class="primary" type="submit" name="action" value="save">Save &amp; Test</button>
    <button class="secondary" type="submit" name="action" value="cancel">Cancel</button>
  </div>
</form>
<p class="note">Fivetran emulator: any non-empty API key passes the setup tests.</p>
"""
    return page(title=f"Connect {service_name}", body=body)


def error_page(message: str) -> str:
    return page(title="Connect Card error", body=f'<h1>This link is not valid</h1><p class="error">{html.escape(message)}</p>')
