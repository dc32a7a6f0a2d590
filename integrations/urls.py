from django.urls import path

from integrations import views

app_name = "integrations"
urlpatterns = [
    path("", views.integration_list, name="list"),
    path("create/", views.integration_create_form, name="create"),
    path("<int:pk>/flow/", views.integration_flow, name="flow"),
    path("<int:pk>/setup/", views.integration_setup, name="setup"),
    path("<int:pk>/authorized/", views.connect_card_return, name="authorized"),
]
