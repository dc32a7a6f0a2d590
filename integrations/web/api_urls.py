from django.urls import path

from integrations.web import api, connection_api, history, logs_api, usage_api

urlpatterns = [
    path("", api.integration_list_create, name="api-integrations"),
    path("<int:pk>/", api.json_404(api.integration_detail), name="api-integration"),
    path("<int:pk>/events", api.json_404(api.integration_events), name="api-integration-events"),
    path("<int:pk>/history", api.json_404(history.integration_history), name="api-integration-history"),
    path("<int:pk>/schema/", api.json_404(api.integration_schema), name="api-integration-schema"),
    path("<int:pk>/retry/", api.json_404(api.integration_retry), name="api-integration-retry"),
    path("<int:pk>/logs", api.json_404(logs_api.integration_logs), name="api-integration-logs"),
    path("<int:pk>/usage", api.json_404(usage_api.integration_usage), name="api-integration-usage"),
    path("<int:pk>/sync/", api.json_404(connection_api.connection_sync), name="api-connection-sync"),
    path("<int:pk>/pause/", api.json_404(connection_api.connection_pause), name="api-connection-pause"),
    path("<int:pk>/resume/", api.json_404(connection_api.connection_resume), name="api-connection-resume"),
    path("<int:pk>/reconnect/", api.json_404(connection_api.connection_reconnect), name="api-connection-reconnect"),
    path(
        "<int:pk>/tables/<int:table_pk>/resync/",
        api.json_404(connection_api.table_resync),
        name="api-connection-table-resync",
    ),
]
