"""The BigQuery side: listing what an integration produced, the local stand-in, the emulator's writer.

Not a Django app (no models): `standins.bigquery.server` must import without Django configured.
"""
