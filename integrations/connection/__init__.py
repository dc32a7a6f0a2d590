"""A connection's life after its set-up: Fivetran's view of it mirrored on the Integration, the health
people read, and its syncs as records.

- `mirrored`: Fivetran's connection as the Integration keeps it (`MirroredConnection`).
- `schedule`: when the next sync is due, and when a connection without a success is stale.
- `health`: the one function that says what the mirrored state means for people.
- `mirror`: apply what Fivetran says to the Integration, with a `connection.updated` event when it moved.
- `syncs`: record Fivetran's `sync_start`/`sync_end` as `Sync` rows with their `sync.*` events.

Like the set-up's transitions, the writing functions here are one transaction each, make no HTTP call,
and return the event rows they wrote: their async caller publishes them after the commit
(`integrations.state.events.publish`). Reading Fivetran is the caller's job (the worker's activities).
"""
