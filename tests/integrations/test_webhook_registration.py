"""`manage.py register_fivetran_webhook`: checks the group lands in our BigQuery project, then
registers the webhook once (a second run finds it)."""

import pytest
from django.core.management import CommandError, call_command

from connectors import fivetran
from tests.support.fivetran_fixtures import GROUP_ID

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def product_url():
    """The product itself, serving the webhook endpoint Fivetran test-POSTs before it registers it."""
    from django.core.asgi import get_asgi_application

    from standins.fivetran.testing import ServerThread

    server = ServerThread(get_asgi_application()).start()
    yield server.url
    server.stop()


@pytest.fixture
def fivetran_settings(settings, emulator, product_url):
    settings.FIVETRAN_API_URL = emulator.api_url
    settings.FIVETRAN_API_KEY = emulator.api_key
    settings.FIVETRAN_API_SECRET = emulator.api_secret
    settings.FIVETRAN_GROUP_ID = GROUP_ID
    settings.FIVETRAN_WEBHOOK_SECRET = "whsec_registration_test"
    settings.PUBLIC_URL = product_url
    settings.BIGQUERY_PROJECT = "local-project"
    fivetran._clients.clear()  # the shared client must be rebuilt from these settings
    yield settings
    fivetran._clients.clear()


def test_registers_once(fivetran_settings, capsys):
    call_command("register_fivetran_webhook")
    first = capsys.readouterr().out
    assert "BigQuery project local-project" in first
    call_command("register_fivetran_webhook")
    second = capsys.readouterr().out
    webhook_line = [line for line in first.splitlines() if line.startswith("Webhook")]
    assert webhook_line and webhook_line == [line for line in second.splitlines() if line.startswith("Webhook")]


def test_refuses_a_group_landing_in_another_project(fivetran_settings):
    fivetran_settings.BIGQUERY_PROJECT = "some-other-project"
    with pytest.raises(CommandError, match="lands in BigQuery project local-project, but BIGQUERY_PROJECT is"):
        call_command("register_fivetran_webhook")


def test_refuses_without_a_webhook_secret(fivetran_settings):
    fivetran_settings.FIVETRAN_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="FIVETRAN_WEBHOOK_SECRET"):
        call_command("register_fivetran_webhook")
