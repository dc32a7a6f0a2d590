"""Links into Temporal's Web UI, where operators read a workflow's whole history."""

from urllib.parse import quote

from django.conf import settings


def workflow_url(workflow_id: str) -> str | None:
    """The workflow's page in the Web UI (settings.TEMPORAL_UI_URL), or None when no UI is known.
    Without a run id the UI opens the latest run: a connection's workflow continues as new over the
    years, so a run id would soon point at an old run."""
    if not settings.TEMPORAL_UI_URL:
        return None
    namespace = quote(settings.TEMPORAL_NAMESPACE, safe="")
    return f"{settings.TEMPORAL_UI_URL}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"
