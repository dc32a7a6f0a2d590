"""What every page has: a favicon, branded error pages (DEBUG off), the login page's demo hint."""

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory, override_settings
from django.views.defaults import server_error

from teams.demo import DEMO_USERNAME

pytestmark = pytest.mark.django_db


def test_every_page_names_a_favicon_and_favicon_ico_finds_it(client):
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/accounts/login/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == "/static/favicon.svg"


@override_settings(DEBUG=False)
def test_a_missing_page_is_the_products_404_not_djangos(client):
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page is not here" in html and "Gyana Connect" in html and "/static/css/app.css" in html


@override_settings(DEBUG=False)
def test_a_crash_is_the_products_500():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html and "/static/css/app.css" in html


def test_the_login_page_names_the_demo_account_only_in_debug_while_it_exists(client, settings):
    settings.DEBUG = True
    assert "data-role=\"demo-hint\"" not in client.get("/accounts/login/").content.decode()
    get_user_model().objects.create_user(DEMO_USERNAME, password="demo")
    assert "data-role=\"demo-hint\"" in client.get("/accounts/login/").content.decode()
    settings.DEBUG = False
    assert "data-role=\"demo-hint\"" not in client.get("/accounts/login/").content.decode()
