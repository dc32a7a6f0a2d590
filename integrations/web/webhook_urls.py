from django.urls import path

from integrations.web.webhook import fivetran_webhook

urlpatterns = [path("", fivetran_webhook, name="fivetran-webhook")]
