from django.urls import path

from integrations.webhooks import fivetran_webhook

urlpatterns = [path("", fivetran_webhook, name="fivetran-webhook")]
