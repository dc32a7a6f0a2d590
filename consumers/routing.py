from django.urls import path

from consumers.integration import IntegrationConsumer
from integrations.vocabulary import WEBSOCKET_ROUTE

websocket_urlpatterns = [
    path(WEBSOCKET_ROUTE, IntegrationConsumer.as_asgi()),
]
