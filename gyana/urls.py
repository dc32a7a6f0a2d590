from django.contrib import admin
from django.http import HttpResponse
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from teams.views import LoginView

urlpatterns = [
    path("healthz", lambda request: HttpResponse("ok", content_type="text/plain")),
    path("", RedirectView.as_view(url="/integrations/", permanent=False)),
    # Browsers and tools ask for /favicon.ico whatever the page says.
    path("favicon.ico", RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("integrations/new/", include("connectors.urls")),
    path("integrations/", include("integrations.web.urls")),
    path("api/integrations/", include("integrations.web.api_urls")),
    path("webhooks/fivetran/", include("integrations.web.webhook_urls")),
    path("notifications/", include("notifications.web.urls")),
]
