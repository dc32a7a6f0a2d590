"""What the set-up's and the connection life's activities share: ORM calls off the loop, which
Fivetran failures retry by themselves, and the error that ends a workflow whose integration is gone."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from temporalio.exceptions import ApplicationError

from connectors.fivetran import FivetranError
from integrations.engine import messages as m


def db(fn):
    # One thread for ORM work keeps SQLite's single writer happy and matches Django's async rules.
    return sync_to_async(fn, thread_sensitive=True)


def is_transient(error: FivetranError) -> bool:
    """Worth trying again by itself: no answer, rate limited, or Fivetran's own trouble."""
    return error.status is None or error.status == 429 or error.status >= 500


def gone(integration_id: int) -> ApplicationError:
    return ApplicationError(f"integration {integration_id} no longer exists", type=m.INTEGRATION_GONE, non_retryable=True)
