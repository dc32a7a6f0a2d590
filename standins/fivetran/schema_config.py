"""A connection's schema config: built from the sample source, merged with PATCHes, reloaded.

The stored document has exactly the API's `data` shape (docs/reference/fivetran-api.md §2.7), keyed by source names,
so a table carries `columns` only for the columns a user has set (columns.py has the full list).
"""

from __future__ import annotations

import copy
from typing import Any

from .columns import SourceTables, source_defaults
from .responses import ApiError, bad_request
from .samples import SampleSchema, SampleTable, connection_source, destination_name
from .services import ServiceInfo

Config = dict[str, Any]

SCHEMA_CHANGE_HANDLING = ("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")
SYNC_MODES = ("SOFT_DELETE", "HISTORY", "LIVE")
SYSTEM_TABLE_REASON = "The table does not support exclusion"


def schema_not_found(connection_id: str, schema: str | None = None) -> ApiError:
    if schema is None:
        # Wording of docs/rest-api/troubleshooting/missing-schema-config-error (it said "Connector" before the 2025 rename).
        return ApiError(404, "NotFound_SchemaConfig", f"Connection with id '{connection_id}' doesn't have schema config")
    return ApiError(404, "NotFound_SchemaConfig", f"Schema '{schema}' is not found in connector '{connection_id}' schema config")


def table_not_found(connection_id: str, schema: str, table: str) -> ApiError:
    return ApiError(404, "NotFound_TableConfig", f"Table '{schema}.{table}' is not found in connector '{connection_id}' schema config")


def column_not_found(schema: str, table: str, column: str) -> ApiError:
    # The real code for an unknown column is unverified; this follows the schema/table pattern.
    return ApiError(404, "NotFound_ColumnConfig", f"Column '{column}' is not found in table '{schema}.{table}'")


def _table_doc(table: SampleTable, *, enabled: bool) -> dict[str, Any]:
    doc: dict[str, Any] = {"name_in_destination": destination_name(table.name), "enabled": enabled}
    if table.sync_mode:
        doc["sync_mode"] = table.sync_mode
    if table.deleted:
        doc["enabled"] = False
        doc["enabled_patch_settings"] = {"allowed": False, "reason_code": "DELETED"}
    elif table.locked:
        doc["enabled"] = True
        doc["enabled_patch_settings"] = {"allowed": False, "reason_code": "SYSTEM_TABLE", "reason": SYSTEM_TABLE_REASON}
    else:
        doc["enabled_patch_settings"] = {"allowed": True}
    doc["supports_columns_config"] = True
    return doc


def _schema_doc(schema: SampleSchema, *, exclude: bool) -> dict[str, Any]:
    enabled = schema.enabled and not exclude
    return {
        "name_in_destination": destination_name(schema.name),
        "enabled": enabled,
        "tables": {
            table.name: _table_doc(table, enabled=table.enabled and enabled and not exclude) for table in schema.tables
        },
    }


def capture(service: ServiceInfo, connection: dict[str, Any], *, exclude: bool = False) -> Config:
    """The schema config Fivetran builds when it first reads the source."""
    schemas = connection_source(service, connection)
    handling = "ALLOW_COLUMNS" if service.is_database else "ALLOW_ALL"
    return {
        "enable_new_by_default": enable_new_by_default(handling),
        "schema_change_handling": handling,
        "schemas": {schema.name: _schema_doc(schema, exclude=exclude) for schema in schemas},
    }


def reload(current: Config | None, service: ServiceInfo, connection: dict[str, Any], exclude_mode: str) -> Config:
    """POST …/schemas/reload: PRESERVE keeps existing choices; EXCLUDE brings new objects back disabled."""
    if exclude_mode not in ("PRESERVE", "EXCLUDE"):
        raise bad_request(f"Invalid exclude_mode '{exclude_mode}': expected PRESERVE or EXCLUDE")
    if current is None:
        return capture(service, connection, exclude=exclude_mode == "EXCLUDE")
    return admit_new_objects(current, connection_source(service, connection), exclude=exclude_mode == "EXCLUDE")


def admit_new_objects(current: Config, source: tuple[SampleSchema, ...], *, exclude: bool = False) -> Config:
    """The config with the schemas and tables the source gained since it was built, each enabled only
    under ALLOW_ALL: "new schemas, tables, and columns which appear in the source after the initial
    setup are included in syncs"; ALLOW_COLUMNS and BLOCK_ALL add them "to the config in the disabled
    state" (OpenAPI StandardConfigUpdateRequest; docs/rest-api/tutorials/connection-schema-
    configuration-use-cases). Existing choices are kept."""
    admit = current["schema_change_handling"] == "ALLOW_ALL" and not exclude
    updated = copy.deepcopy(current)
    for schema in source:
        schema_doc = updated["schemas"].get(schema.name)
        if schema_doc is None:
            schema_doc = {"name_in_destination": destination_name(schema.name), "enabled": admit, "tables": {}}
            updated["schemas"][schema.name] = schema_doc
        for table in schema.tables:
            if table.name not in schema_doc["tables"]:
                schema_doc["tables"][table.name] = _table_doc(table, enabled=admit)
    return updated


def enable_new_by_default(handling: str) -> bool:
    """The legacy flag follows schema_change_handling: false only when new objects are blocked.

    "The value is 'true' if you specify 'ALLOW_ALL'" (docs/rest-api/api-reference/connection-schema/
    modify-connection-schema-config); the reference fixtures pair ALLOW_COLUMNS with true, BLOCK_ALL with false.
    """
    return handling != "BLOCK_ALL"


def _check_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise bad_request(f"'{what}' must be a boolean")
    return value


def _check_mapping(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(f"'{what}' must be an object")
    return value


def _locked_reason(settings: dict[str, Any]) -> str:
    return settings.get("reason") or settings.get("reason_code") or "not allowed"


def _patch_columns(schema_name: str, table_name: str, table: dict[str, Any], source: SampleTable | None, patch: Any) -> None:
    """Column settings land in the table's `columns`, which from then on lists that column (§2.7)."""
    defaults = source_defaults(source)
    for column_name, column_patch in _check_mapping(patch, "columns").items():
        column = (table.get("columns") or {}).get(column_name) or defaults.get(column_name)
        if column is None:
            raise column_not_found(schema_name, table_name, column_name)
        column = copy.deepcopy(column)
        column_patch = _check_mapping(column_patch, f"columns.{column_name}")
        if "enabled" in column_patch:
            enabled = _check_bool(column_patch["enabled"], "enabled")
            settings = column["enabled_patch_settings"]
            if not settings.get("allowed", True) and enabled != column["enabled"]:
                raise bad_request(
                    f"Column '{schema_name}.{table_name}.{column_name}' cannot be changed: {_locked_reason(settings)}"
                )
            column["enabled"] = enabled
        if "hashed" in column_patch:
            column["hashed"] = _check_bool(column_patch["hashed"], "hashed")
        table.setdefault("columns", {})[column_name] = column


def _patch_table(schema_name: str, table_name: str, table: dict[str, Any], source: SampleTable | None, patch: dict[str, Any]) -> None:
    if "enabled" in patch:
        enabled = _check_bool(patch["enabled"], "enabled")
        settings = table.get("enabled_patch_settings") or {"allowed": True}
        if not settings.get("allowed", True) and enabled != table["enabled"]:
            raise bad_request(
                f"Table '{schema_name}.{table_name}' cannot be {'enabled' if enabled else 'disabled'}: {_locked_reason(settings)}"
            )
        table["enabled"] = enabled
    if "sync_mode" in patch:
        if "sync_mode" not in table:
            raise bad_request(f"Table '{schema_name}.{table_name}' does not support sync_mode")
        if patch["sync_mode"] not in SYNC_MODES:
            raise bad_request(f"Invalid sync_mode '{patch['sync_mode']}'")
        table["sync_mode"] = patch["sync_mode"]
    _patch_columns(schema_name, table_name, table, source, patch.get("columns", {}))


def apply_patch(connection_id: str, current: Config, body: dict[str, Any], source: SourceTables) -> Config:
    """A new config with `body` merged in. Validates everything first, so a refused PATCH changes nothing."""
    updated = copy.deepcopy(current)
    if "enable_new_by_default" in body:
        updated["enable_new_by_default"] = _check_bool(body["enable_new_by_default"], "enable_new_by_default")
    if "schema_change_handling" in body:
        if body["schema_change_handling"] not in SCHEMA_CHANGE_HANDLING:
            raise bad_request(f"Invalid schema_change_handling '{body['schema_change_handling']}'")
        updated["schema_change_handling"] = body["schema_change_handling"]
        updated["enable_new_by_default"] = enable_new_by_default(body["schema_change_handling"])
    for schema_name, schema_patch in _check_mapping(body.get("schemas", {}), "schemas").items():
        schema = updated["schemas"].get(schema_name)
        if schema is None:
            raise schema_not_found(connection_id, schema_name)
        schema_patch = _check_mapping(schema_patch, f"schemas.{schema_name}")
        if "enabled" in schema_patch:
            schema["enabled"] = _check_bool(schema_patch["enabled"], "enabled")
        for table_name, table_patch in _check_mapping(schema_patch.get("tables", {}), "tables").items():
            table = schema["tables"].get(table_name)
            if table is None:
                raise table_not_found(connection_id, schema_name, table_name)
            source_table = source.get((schema_name, table_name))
            _patch_table(schema_name, table_name, table, source_table, _check_mapping(table_patch, f"tables.{table_name}"))
    return updated


def table_entry(connection_id: str, config: Config, schema_name: str, table_name: str) -> dict[str, Any]:
    schema = config["schemas"].get(schema_name)
    if schema is None:
        raise schema_not_found(connection_id, schema_name)
    table = schema["tables"].get(table_name)
    if table is None:
        raise table_not_found(connection_id, schema_name, table_name)
    return table
