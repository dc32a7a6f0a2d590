from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("<slug:service_id>/", views.connector, name="connector"),
]
