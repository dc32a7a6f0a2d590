"""The embedded default's composition: the stand-ins the product talks to when no real service is
configured. The only module of the product that imports `standins` (an import-linter contract says
so), and only when it is asked to, so an install without the `standins` extra serves the product.
"""

from __future__ import annotations

from django.conf import settings

from gyana.children import dying_with_parent


def fivetran_emulator_app():
    """The Fivetran emulator as an ASGI app, landing what it syncs in the configured BigQuery."""
    from standins.fivetran.app import create_app

    writer = None
    if settings.BIGQUERY_API_ENDPOINT:
        from standins.fivetran.destination import BigQueryWriter

        writer = BigQueryWriter(
            settings.BIGQUERY_API_ENDPOINT, settings.BIGQUERY_PROJECT, location=settings.BIGQUERY_LOCATION
        )
    return create_app(
        api_key=settings.FIVETRAN_API_KEY,
        api_secret=settings.FIVETRAN_API_SECRET,
        data_dir=settings.VAR_DIR / "fivetran-emulator",
        sync_seconds=settings.EMULATOR_SYNC_SECONDS,
        writer=writer,
        group_ids=(settings.FIVETRAN_GROUP_ID,),
        bigquery_project=settings.BIGQUERY_PROJECT,
    )


def start_bigquery_standin():
    """Start the local BigQuery stand-in as a child process; `.endpoint`, `.stop()`."""
    from standins.bigquery.server import start_standin

    return start_standin(
        port=settings.BIGQUERY_STANDIN_PORT,
        data_dir=settings.VAR_DIR / "bigquery",
        project=settings.BIGQUERY_PROJECT,
        launcher=dying_with_parent,
    )
