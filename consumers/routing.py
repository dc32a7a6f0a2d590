from django.urls import path

from consumers.integration import IntegrationConsumer
from consumers.notifications import NotificationConsumer
from consumers.team import TeamConsumer
from integrations.vocabulary import NOTIFICATIONS_WEBSOCKET_ROUTE, TEAM_WEBSOCKET_ROUTE, WEBSOCKET_ROUTE

websocket_urlpatterns = [
    path(WEBSOCKET_ROUTE, IntegrationConsumer.as_asgi()),
    path(TEAM_WEBSOCKET_ROUTE, TeamConsumer.as_asgi()),
    path(NOTIFICATIONS_WEBSOCKET_ROUTE, NotificationConsumer.as_asgi()),
]
