"""The Fivetran Platform Connector's tables, as the emulator writes them into the destination.

Fivetran's Platform Connector (service `fivetran_log`) syncs its account data into a dataset of the
destination (`fivetran_metadata` for connections made since 2023). Column names and BigQuery types
follow Fivetran's dbt package (`dbt_fivetran_log`, src_fivetran_platform.yml). Declared once here for
the emulator's writer and for the tests that seed rows of their own.

- `log`: one row per event. `event` is the severity (INFO, WARNING, SEVERE); `message_event` the
  routine (sync_start, sync_end, write_to_table_start, records_modified, ...); `message_data` JSON text.
- `incremental_mar`: rows made active per table per day. There is no connection id: a row names
  its connection by `connection_name` (the connection's schema name) and `destination_id` (the
  group). Monthly MAR is the sum of `incremental_rows` per calendar month; paid where `free_type`
  is PAID.
- `connection`: one row per connection per Platform Connector sync; the latest `_fivetran_synced`
  per (connection_name, destination_id) is current.
"""

from __future__ import annotations

DATASET = "fivetran_metadata"

LOG = (
    ("id", "STRING"),
    ("time_stamp", "TIMESTAMP"),
    ("connection_id", "STRING"),
    ("connector_id", "STRING"),  # deprecated by Fivetran; still written for old readers
    ("event", "STRING"),
    ("message_event", "STRING"),
    ("message_data", "STRING"),
    ("transformation_id", "STRING"),
    ("sync_id", "STRING"),
    ("_fivetran_synced", "TIMESTAMP"),
)

INCREMENTAL_MAR = (
    ("connection_name", "STRING"),
    ("destination_id", "STRING"),
    ("schema_name", "STRING"),
    ("table_name", "STRING"),
    ("free_type", "STRING"),  # PAID, or a free type (the rows of a historical sync are free)
    ("measured_date", "TIMESTAMP"),
    ("incremental_rows", "INT64"),
    ("sync_type", "STRING"),  # HISTORICAL, INCREMENTAL, UNKNOWN
    ("updated_at", "TIMESTAMP"),
    ("_fivetran_synced", "TIMESTAMP"),
)

CONNECTION = (
    ("connection_id", "STRING"),
    ("connection_name", "STRING"),
    ("connector_type_id", "STRING"),
    ("destination_id", "STRING"),
    ("paused", "BOOL"),
    ("signed_up", "TIMESTAMP"),
    ("_fivetran_synced", "TIMESTAMP"),
    ("_fivetran_deleted", "BOOL"),
)

TABLES = {"log": LOG, "incremental_mar": INCREMENTAL_MAR, "connection": CONNECTION}
