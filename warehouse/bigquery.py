"""The BigQuery client, built once from settings, and the call options every call passes.

Real BigQuery: GOOGLE_APPLICATION_CREDENTIALS (the google-auth default chain). The loopback stand-in:
BIGQUERY_API_ENDPOINT with anonymous credentials.
"""

from __future__ import annotations

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import bigquery
from google.cloud.bigquery.retry import DEFAULT_RETRY

# Retry budget of one call. The library's default keeps retrying a 500 for 600 s; the stand-in
# answers 500 on a bad row, so an unbounded retry turns a bug into a ten-minute hang.
RETRY_SECONDS = 20.0


def make_client(project: str, *, endpoint: str | None = None, location: str | None = None) -> bigquery.Client:
    if endpoint:
        return bigquery.Client(
            project=project,
            location=location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=endpoint),
        )
    return bigquery.Client(project=project, location=location)


def bigquery_client() -> bigquery.Client:
    from django.conf import settings

    return make_client(
        settings.BIGQUERY_PROJECT,
        endpoint=settings.BIGQUERY_API_ENDPOINT,
        location=settings.BIGQUERY_LOCATION,
    )


def setting(name: str, default):
    """A Django setting, or `default` where Django is not configured (the emulator run alone)."""
    import os

    from django.conf import settings

    if not settings.configured and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return default
    return getattr(settings, name, default)


def call_options(timeout: float | None = None) -> dict:
    """`retry=` and `timeout=` for one BigQuery call: bounded, never the library's 600 s."""
    if timeout is None:
        timeout = setting("BIGQUERY_TIMEOUT_SECONDS", 30.0)
    return {
        "retry": DEFAULT_RETRY.with_timeout(min(RETRY_SECONDS, timeout * 2)).with_delay(initial=0.2, maximum=2.0),
        "timeout": timeout,
    }
