"""Connection documents: validating a create, applying a PATCH, rendering the API object (§2.1, §2.3, §2.4)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

from .account import USER_ID
from .clock import api_timestamp
from .responses import ApiError, bad_request
from .services import ServiceInfo

Connection = dict[str, Any]

SYNC_FREQUENCIES = (1, 5, 15, 30, 60, 120, 180, 360, 480, 720, 1440)
SCHEDULE_TYPES = ("auto", "manual")
DELAY_SENSITIVITIES = ("LOW", "NORMAL", "HIGH", "CUSTOM", "SYSTEM")
NETWORKING_METHODS = ("Directly", "PrivateLink", "ProxyAgent", "SshTunnel")
# Config keys fixed at creation (§2.1).
IMMUTABLE_CONFIG = ("schema", "schema_prefix", "table")
SECRET_HINTS = ("password", "secret", "token", "api_key", "private_key")
SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,1023}$")
MASK = "******"


def schema_name_taken(schema: str) -> ApiError:
    # The real status/code for a duplicate destination schema in a group is unverified.
    return ApiError(409, "Conflict", f"A connection with schema '{schema}' already exists in this group")


def _check_choice(body: dict[str, Any], key: str, choices: tuple[Any, ...]) -> None:
    if key in body and body[key] not in choices:
        raise bad_request(f"Invalid value for '{key}': {body[key]!r}")


def _check_bools(body: dict[str, Any], *keys: str) -> None:
    for key in keys:
        if key in body and not isinstance(body[key], bool):
            raise bad_request(f"'{key}' must be a boolean")


def _check_scheduling(body: dict[str, Any]) -> None:
    _check_bools(body, "paused", "pause_after_trial", "run_setup_tests", "trust_certificates", "trust_fingerprints")
    frequency = body.get("sync_frequency")
    # A bool or a float would pass the membership test (True == 1, 5.0 == 5): Fivetran takes whole minutes.
    if frequency is not None and (not isinstance(frequency, int) or isinstance(frequency, bool) or frequency not in SYNC_FREQUENCIES):
        raise bad_request(
            f"Invalid value for 'sync_frequency': {frequency!r}; expected one of {', '.join(map(str, SYNC_FREQUENCIES))} (minutes)"
        )
    _check_choice(body, "schedule_type", SCHEDULE_TYPES)
    _check_choice(body, "data_delay_sensitivity", DELAY_SENSITIVITIES)
    _check_choice(body, "networking_method", NETWORKING_METHODS)
    if "daily_sync_time" in body and not re.fullmatch(r"([01]\d|2[0-3]):00", str(body["daily_sync_time"])):
        raise bad_request("'daily_sync_time' must look like 'HH:00'")


def check_connect_card_config(card_config: Any) -> dict[str, Any]:
    if not isinstance(card_config, dict):
        raise bad_request("'connect_card_config' must be an object")
    redirect_uri = card_config.get("redirect_uri")
    if not isinstance(redirect_uri, str) or urlparse(redirect_uri).scheme not in ("http", "https"):
        raise bad_request("'connect_card_config.redirect_uri' is required and must be an http(s) URL")
    _check_bools(card_config, "hide_setup_guide", "all_fields")
    return {"redirect_uri": redirect_uri, "hide_setup_guide": bool(card_config.get("hide_setup_guide", False))}


def connection_schema(service: ServiceInfo, config: dict[str, Any]) -> str:
    """The connection's `schema`: dataset, prefix for databases, `schema.table` for single-table ones."""
    if service.is_database:
        return config["schema_prefix"]
    if service.single_table:
        return f"{config['schema']}.{config['table']}"
    return config["schema"]


def validated_config(service: ServiceInfo, body: dict[str, Any]) -> dict[str, Any]:
    config = body.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise bad_request("'config' must be an object")
    naming_key = "schema_prefix" if service.is_database else "schema"
    name = config.get(naming_key)
    if not name:
        raise bad_request(f"Field 'config.{naming_key}' is required for service '{service.id}'")
    if not isinstance(name, str) or not SCHEMA_NAME.match(name):
        raise bad_request(f"Invalid 'config.{naming_key}' {name!r}: use letters, digits and underscores")
    if service.single_table:
        table = config.get("table")
        if not isinstance(table, str) or not SCHEMA_NAME.match(table):
            raise bad_request(f"Field 'config.table' is required for service '{service.id}'")
    return dict(config)


def new_connection(connection_id: str, service: ServiceInfo, group_id: str, body: dict[str, Any]) -> Connection:
    """A freshly created connection, with Fivetran's real defaults for everything not given (§2.1)."""
    _check_scheduling(body)
    config = validated_config(service, body)
    connection: Connection = {
        "id": connection_id,
        "group_id": group_id,
        "service": service.id,
        "service_version": 1,
        "schema": connection_schema(service, config),
        "connected_by": USER_ID,
        "created_at": api_timestamp(),
        "succeeded_at": None,
        "failed_at": None,
        "paused": body.get("paused", False),
        "pause_after_trial": body.get("pause_after_trial", False),
        "sync_frequency": body.get("sync_frequency", 360),
        "schedule_type": body.get("schedule_type", "auto"),
        "data_delay_sensitivity": body.get("data_delay_sensitivity", "NORMAL"),
        "data_delay_threshold": body.get("data_delay_threshold", 0),
        "networking_method": body.get("networking_method", "Directly"),
        "setup_state": "incomplete",
        "update_state": "on_schedule",
        "is_historical_sync": True,
        "tasks": [],
        "warnings": [],
        "rescheduled_for": None,
        "config": config,
        "connect_card_config": None,
        # Emulator bookkeeping, never rendered: the running sync and the next planned one.
        "sync": None,
        "next_sync_at": None,
        "sync_scope": None,
    }
    if "daily_sync_time" in body:
        connection["daily_sync_time"] = body["daily_sync_time"]
    if "connect_card_config" in body:
        connection["connect_card_config"] = check_connect_card_config(body["connect_card_config"])
    return connection


def apply_update(connection: Connection, body: dict[str, Any]) -> None:
    """PATCH fields other than `paused` and `is_historical_sync` (the sync runner owns those)."""
    _check_scheduling(body)
    for key in ("pause_after_trial", "sync_frequency", "schedule_type", "daily_sync_time", "data_delay_sensitivity",
                "data_delay_threshold", "networking_method"):
        if key in body:
            connection[key] = body[key]
    if "config" in body:
        config = body["config"]
        if not isinstance(config, dict):
            raise bad_request("'config' must be an object")
        for key in IMMUTABLE_CONFIG:
            if key in config and config[key] != connection["config"].get(key):
                raise bad_request(f"Field 'config.{key}' cannot be changed after the connection is created")
        connection["config"].update(config)


# Settings a PATCH can change besides `paused` and `is_historical_sync`.
SETTINGS = ("pause_after_trial", "sync_frequency", "schedule_type", "daily_sync_time", "data_delay_sensitivity",
            "data_delay_threshold", "networking_method", "config")


def changed_settings(before: Connection, after: Connection) -> dict[str, Any]:
    """The settings whose value a PATCH changed, as the API shows them (secrets masked)."""
    changed = {key: after.get(key) for key in SETTINGS if before.get(key) != after.get(key)}
    if "config" in changed:
        changed["config"] = masked(changed["config"])
    return changed


def sync_state(connection: Connection) -> str:
    if connection["sync"] is not None:
        return "syncing"
    if connection["rescheduled_for"]:
        return "rescheduled"
    if connection["paused"]:
        return "paused"
    return "scheduled"


def masked(config: dict[str, Any]) -> dict[str, Any]:
    return {key: MASK if any(hint in key for hint in SECRET_HINTS) else value for key, value in config.items()}


def render(connection: Connection, *, detail: bool = True) -> dict[str, Any]:
    """The API object; list items (detail=False) leave out config, as the real list does."""
    status: dict[str, Any] = {
        "setup_state": connection["setup_state"],
        "sync_state": sync_state(connection),
        "update_state": connection["update_state"],
        "is_historical_sync": connection["is_historical_sync"],
        "tasks": connection["tasks"],
        "warnings": connection["warnings"],
    }
    if connection["rescheduled_for"]:
        status["rescheduled_for"] = connection["rescheduled_for"]
    data: dict[str, Any] = {
        key: connection[key]
        for key in ("id", "group_id", "service", "service_version", "schema", "connected_by", "created_at",
                    "succeeded_at", "failed_at", "paused", "pause_after_trial", "sync_frequency")
    }
    # "returned only when sync_frequency is 1440 and daily_sync_time was explicitly set" (OpenAPI
    # UpdateConnectorRequest); it is kept meanwhile, so going back to 1440 brings it back.
    if "daily_sync_time" in connection and connection["sync_frequency"] == 1440:
        data["daily_sync_time"] = connection["daily_sync_time"]
    for key in ("schedule_type", "data_delay_sensitivity", "data_delay_threshold", "networking_method"):
        data[key] = connection[key]
    data["status"] = status
    if detail:
        data["source_sync_details"] = {}
        data["config"] = masked(connection["config"])
        # The reference snapshots show connect_card_config only on paused connections (stages 1-2).
        if connection["connect_card_config"] and connection["paused"]:
            data["connect_card_config"] = connection["connect_card_config"]
    return data
