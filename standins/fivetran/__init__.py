"""A local stand-in for the part of Fivetran's REST API that an embedding product uses.

`create_app()` (app.py) builds the ASGI app; `python -m standins.fivetran` serves it with uvicorn.
Shapes follow docs/reference/fivetran-api.md §2 and §6 and the fixtures next to it; behaviour that
Fivetran documents is cited in the code by the docs page's path under fivetran.com.

Routes (every connection route under both /v1/connections and the legacy /v1/connectors):
  account info, users (list, one), groups (list, one, their connections with the `schema` filter),
  destinations (one), connector metadata (connector-types, connectors, connections spellings),
  connections (create, list with `group_id`/`schema`, get, patch, delete, connect-card, sync,
  force, resync, test), schema config (get, patch, pre-create POST, reload, schema/table/column
  patches, table columns, table re-syncs), webhooks (create account/group, list, get, patch,
  delete, test). Lists page with `cursor`/`limit` (1..1000, default 100); `next_cursor` is left out
  on the last page.

What it does not do, or does differently from Fivetran:
  * One account, one user, the groups given at start-up; no teams, roles, memberships, system keys,
    transformations, log services, certificates, private links, proxy or hybrid agents. Groups and
    destinations cannot be created, changed or deleted.
  * Sources are samples (samples.py), not real systems, which gain tables only through the control
    API (add-table), never columns; schema changes are read at the start of each sync and on
    reload, not on a timer. Setup tests never reach a source, and
    `run_setup_tests` is ignored on create and PATCH (a created connection reports no setup tests).
    Connector `config` is stored as given apart from the naming keys; no per-service validation.
  * The Connect Card is a page of the emulator, not fivetran.com.
  * POST …/schemas (pre-create) captures the schema and applies the body like a PATCH; Fivetran
    echoes the request and applies it only once it captures the schema.
  * The table columns endpoint answers whenever a schema config exists; Fivetran answers only for
    connected connections. Columns cannot be dropped (no DELETE on a column), and masking, `is_type_locked`
    and `schema_status` are not modelled.
  * A resync while a sync runs restarts it (the running one ends CANCELED); Fivetran may answer 409
    instead. Table re-syncs are accepted for every service, and their sync lands only those tables,
    where Fivetran keeps syncing the others incrementally meanwhile.
  * Webhooks are tested (one POST) on creation, on activation and on `run_tests`, not when an active
    webhook's URL changes. Deliveries are not retried, and webhooks are never disabled. Sent:
    sync_start and sync_end (SUCCESSFUL, FAILURE, FAILURE_WITH_TASK, RESCHEDULED, CANCELED),
    connection_successful, connection_failure, and for actions create_connector, edit_connector,
    pause_connector, resume_connector, force_update_connector, resync_connector, resync_table,
    delete_connector, whose `data` ({"actor": …, …}) Fivetran does not document. Never the dbt and
    transformation events, nor the deprecated `status`.
  * Schedules: every `sync_frequency` minutes from the last sync's start, or at `daily_sync_time`
    UTC; no per-destination offset. A time scale (--time-scale, PUT /_control/clock) shortens the
    waits, not the timestamps. A sync of a historical connection takes `sync_seconds`, and so does
    an incremental one; each incremental sync appends 1-5 rows to every table that has rows.
  * With a BigQuery destination it also writes what Fivetran's Platform Connector would, at once rather
    than on that connector's daily schedule: `fivetran_metadata.log` (each sync's lines, written when
    the sync ends and before its sync_end webhook; user actions at once), `incremental_mar` (rows
    written per table and day: FREE when a table is copied whole, PAID when an incremental sync adds
    rows) and `connection` (a row at create, pause, resume and delete). platform_log.py has the shapes.
  * Plain HTTP webhook URLs are accepted on loopback, so local runs need no TLS.
  * Error codes Fivetran does not document are the emulator's choice: 401 Unauthorized, 404 NotFound
    (unknown path), 405 MethodNotAllowed, NotFound_Group, NotFound_Webhook, NotFound_User,
    NotFound_Service, NotFound_ColumnConfig, 409 Conflict for a taken schema name.
  * A path with a trailing slash is answered by a 307 redirect to the path without it (Fivetran's
    answer is undocumented); a client that does not follow redirects sees the 307.
  * The `Accept: application/json;version=2` header is ignored: responses are always the v2 shapes.
  * Rate limits are not enforced; a 429 with Retry-After only comes from an injected fault (faults.py).
"""
