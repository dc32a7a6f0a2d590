from django.urls import path

from integrations.web import connection_pages, usage_pages
from integrations.web import pages as views
from integrations.web import table_pages as tables_views

app_name = "integrations"
urlpatterns = [
    path("", views.integration_list, name="list"),
    path("usage/", usage_pages.team_usage_page, name="usage"),
    path("usage.csv", usage_pages.team_usage_csv, name="usage_csv"),
    path("<int:pk>/flow/", views.integration_flow, name="flow"),
    path("<int:pk>/setup/", views.integration_setup, name="setup"),
    path("<int:pk>/delete/", views.integration_delete_form, name="delete"),
    path("<int:pk>/authorized/", views.connect_card_return, name="authorized"),
    path("<int:pk>/", connection_pages.connection_page, name="connection"),
    path("<int:pk>/actions/<slug:action>/", connection_pages.connection_action, name="connection_action"),
    path("<int:pk>/settings/", connection_pages.connection_settings, name="connection_settings"),
    path("<int:pk>/schema/", connection_pages.connection_schema, name="connection_schema"),
    path(
        "<int:pk>/tables/<int:table_pk>/resync/",
        connection_pages.connection_table_resync,
        name="connection_table_resync",
    ),
    path("<int:pk>/tables/<int:table_pk>/preview/", tables_views.table_preview, name="table_preview"),
]
