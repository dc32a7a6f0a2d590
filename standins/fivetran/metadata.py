"""GET /v1/metadata/connector-types[/{service}] items, built from services.yaml (§2.8)."""

from __future__ import annotations

from typing import Any

from .services import ServiceInfo

STATUS_UPDATED_AT = "2024-03-18"


def _features(service: ServiceInfo) -> list[dict[str, str]]:
    if service.is_database:
        ids = ["API_CONFIGURABLE", "CAPTURE_DELETES", "COLUMN_HASHING", "DATA_BLOCKING", "HISTORY_MODE", "RE_SYNC"]
    elif service.single_table:
        ids = ["API_CONFIGURABLE", "AUTHORIZATION_VIA_API"]
    else:
        ids = ["API_CONFIGURABLE", "RE_SYNC", "DATA_BLOCKING", "COLUMN_HASHING", "AUTHORIZATION_VIA_API"]
    return [{"id": feature, "notes": ""} for feature in ids]


def connector_type(service: ServiceInfo) -> dict[str, Any]:
    base = f"https://fivetran.com/integrations/{service.id}/resources/{service.id}"
    kind = "databases" if service.is_database else "files" if service.single_table else "applications"
    docs = f"https://fivetran.com/docs/connectors/{kind}/{service.id.replace('_', '-')}"
    return {
        "id": service.id,
        "name": service.name,
        "type": service.category,
        "description": f"{service.name} (emulated connector).",
        "icon_url": f"{base}.svg",
        "icons": [f"{base}_512.png", f"{base}_40.svg"],
        "link_to_docs": docs,
        "link_to_erd": f"{docs}#schemainformation",
        "connector_class": "lite" if service.single_table else "standard",
        "service_status": "general_availability",
        "service_status_updated_at": STATUS_UPDATED_AT,
        "supported_features": _features(service),
    }


def _string_property(title: str, description: str) -> dict[str, Any]:
    return {"type": "string", "title": title, "description": description, "readonly": False}


def connector_type_details(service: ServiceInfo) -> dict[str, Any]:
    permanent = "Schema is permanent and cannot be changed after connection creation"
    if service.is_database:
        properties = {"schema_prefix": _string_property("Destination schema prefix", f"Destination schema prefix. {permanent}")}
    else:
        properties = {"schema": _string_property("Destination schema", f"Destination schema. {permanent}")}
    if service.single_table:
        properties["table"] = _string_property("Destination table", "Destination table. Table is permanent and cannot be changed")
    data = connector_type(service)
    data["config"] = {"type": "object", "title": f"{service.name} config object", "description": "", "readonly": False,
                      "properties": properties}
    data["auth"] = {
        "type": "object", "description": "", "readonly": False,
        "properties": {
            "refresh_token": {"type": "string", "description": "OAuth refresh token", "readonly": False},
            "access_token": {"type": "string", "description": "OAuth access token", "readonly": False},
        },
    }
    return data
