from django.urls import path

from consumers.integration import IntegrationConsumer

websocket_urlpatterns = [
    path("ws/integrations/<str:integration_id>/", IntegrationConsumer.as_asgi()),
]
