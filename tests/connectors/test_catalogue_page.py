"""The connector catalogue page at /integrations/new/."""

import shutil
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.contrib.staticfiles import finders
from django.test import override_settings

from connectors.catalogue import get_catalogue
from tests.support.browser_fixtures import CHROMIUM_ARGS
from tests.support.paths import REPO
from tests.support.services import missing_service

URL = "/integrations/new/"


class CataloguePage(HTMLParser):
    """Reads what a user would see: categories, connectors (shown or hidden) and their forms."""

    def __init__(self, html: str):
        super().__init__()
        self.categories: dict[str, bool] = {}  # category -> shown
        self.connectors: dict[str, dict] = {}
        self.empty_state_shown = None
        self.empty_state_text = ""
        self.logout_forms: list[dict] = []
        self._connector = None
        self._in_empty = False
        self._in_name = False
        self._form = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-category" in attrs:
            self.categories[attrs["data-category"]] = "hidden" not in attrs
        if tag == "li" and "data-service" in attrs:
            self._connector = self.connectors[attrs["data-service"]] = {
                "shown": "hidden" not in attrs,
                "inputs": {},
                "name": "",
            }
        if tag == "p" and attrs.get("id") == "catalogue-empty":
            self.empty_state_shown = "hidden" not in attrs
            self._in_empty = True
        if tag == "form":
            self._form = attrs
            if self._form.get("action") == "/accounts/logout/":
                self.logout_forms.append(attrs)
        connector = self._connector
        if connector is None:
            return
        if tag == "a":
            connector["href"] = attrs["href"]
        elif tag == "input":
            connector["inputs"][attrs["name"]] = attrs.get("value")
        elif tag == "img":
            connector["icon"] = attrs["src"]
        elif tag == "span" and attrs.get("class") == "connector__name":
            self._in_name = True

    def handle_endtag(self, tag):
        if tag == "li":
            self._connector = None
        if tag == "p":
            self._in_empty = False
        if tag == "span":
            self._in_name = False

    def handle_data(self, data):
        if self._in_empty:
            self.empty_state_text += data
        if self._in_name and self._connector is not None:
            self._connector["name"] += data

    def shown(self) -> set[str]:
        return {service for service, connector in self.connectors.items() if connector["shown"]}


@pytest.fixture
def user(db):
    # No password: hashing one costs ~0.5 s, and only the login tests need it.
    return User.objects.create_user("ada", first_name="Ada", last_name="Lovelace")


@pytest.fixture
def user_with_password(user):
    user.set_password("a-long-password")
    user.save()
    return user


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


def page(client, **params) -> CataloguePage:
    response = client.get(URL, params)
    assert response.status_code == 200
    return CataloguePage(response.content.decode())


@pytest.mark.django_db
def test_requires_login(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={URL}"


@pytest.mark.django_db
def test_login_page_logs_in_and_returns_to_the_catalogue(client, user_with_password):
    login = client.get(f"/accounts/login/?next={URL}")
    assert login.status_code == 200
    assert b'name="username"' in login.content and b'name="password"' in login.content
    response = client.post("/accounts/login/", {"username": "ada", "password": "a-long-password", "next": URL})
    assert response.status_code == 302 and response["Location"] == URL
    assert client.get(URL).status_code == 200


@pytest.mark.django_db
def test_wrong_password_shows_an_error(client, user_with_password):
    response = client.post("/accounts/login/", {"username": "ada", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content


@override_settings(SHOW_INTERNAL_SERVICES=False)
def test_lists_every_public_connector_by_category(signed_in):
    result = page(signed_in)
    catalogue = get_catalogue()
    public = {service.id for service in catalogue.visible(show_internal=False)}

    assert set(result.connectors) == public
    assert result.shown() == public
    assert set(result.categories) == {service.category for service in catalogue.visible(show_internal=False)}
    assert all(result.categories.values())
    assert result.empty_state_shown is False


def test_category_headings_are_readable(signed_in):
    response = signed_in.get(URL)
    assert b"Human Resources</h2>" in response.content
    assert b"Database</h2>" in response.content


def test_each_connector_links_to_its_connector_page_and_creates_nothing(signed_in):
    result = page(signed_in)
    hubspot = result.connectors["hubspot"]
    assert hubspot["href"] == "/integrations/new/hubspot/"
    assert hubspot["inputs"] == {}  # no form: a click only opens the connector page
    assert hubspot["name"] == "HubSpot"
    assert hubspot["icon"] == "/static/images/integrations/fivetran/hubspot.svg"
    for service_id, connector in result.connectors.items():
        assert connector["href"] == f"/integrations/new/{service_id}/"
        assert connector["name"] == get_catalogue().get(service_id).name


def test_category_filter_works_without_javascript(signed_in):
    result = page(signed_in, category="Finance")
    finance = {s.id for s in get_catalogue().visible(show_internal=settings.SHOW_INTERNAL_SERVICES) if s.category == "Finance"}
    assert result.shown() == finance
    assert page(signed_in, category="Finance", q="stripe").shown() == {"stripe"}
    assert page(signed_in, category="Finance", q="hubspot").empty_state_shown is True
    assert page(signed_in, category="NoSuchCategory").shown() == page(signed_in).shown()


def test_shows_the_service_colour(signed_in):
    response = signed_in.get(URL)
    assert f"--service-colour: {get_catalogue().get('stripe').color}".encode() in response.content


@pytest.mark.parametrize(
    "query, expected",
    [
        ("HubSpot", {"hubspot"}),
        ("google ads", {"google_ads"}),
        ("suiteanalytics", {"netsuite_suiteanalytics"}),
        ("human resources", {"greenhouse", "lever", "bamboohr"}),
    ],
)
def test_query_filters_without_javascript(signed_in, query, expected):
    result = page(signed_in, q=query)
    assert result.shown() == expected
    assert result.empty_state_shown is False
    # Everything is still in the page (hidden), so the script can widen the search.
    assert "stripe" in result.connectors and not result.connectors["stripe"]["shown"]
    shown_categories = {category for category, shown in result.categories.items() if shown}
    assert shown_categories == {get_catalogue().get(service_id).category for service_id in expected}


def test_query_by_category_shows_the_whole_category(signed_in):
    result = page(signed_in, q="database")
    databases = {s.id for s in get_catalogue().visible(show_internal=False) if s.category == "Database"}
    assert result.shown() == databases
    assert {category for category, shown in result.categories.items() if shown} == {"Database"}


def test_empty_state_names_the_query(signed_in):
    response = signed_in.get(URL, {"q": "<b>zzz</b>"})
    result = CataloguePage(response.content.decode())
    assert result.shown() == set()
    assert not any(result.categories.values())
    assert result.empty_state_shown is True
    assert " ".join(result.empty_state_text.split()) == "No connector matches “<b>zzz</b>”"
    assert b"<b>zzz</b>" not in response.content  # escaped, never markup


@override_settings(SHOW_INTERNAL_SERVICES=False)
def test_internal_services_are_hidden_in_production(signed_in):
    result = page(signed_in)
    assert "fivetran_log" not in result.connectors and "webhooks" not in result.connectors
    assert "Log" not in result.categories
    assert page(signed_in, q="webhooks").empty_state_shown is True


@override_settings(SHOW_INTERNAL_SERVICES=True)
def test_internal_services_are_shown_when_enabled(signed_in):
    result = page(signed_in)
    assert {"fivetran_log", "webhooks"} <= result.shown()
    assert set(result.connectors) == {service.id for service in get_catalogue()}
    internal = sum(service.internal for service in get_catalogue())
    assert signed_in.get(URL).content.count(b'<span class="badge">internal</span>') == internal


def test_missing_or_broken_icon_falls_back_to_the_generic_icon(signed_in, tmp_path):
    static = tmp_path / "static"
    shutil.copytree(REPO / "static", static)
    icons = static / "images/integrations/fivetran"
    (icons / "hubspot.svg").unlink()
    (icons / "stripe.svg").write_text("<svg><unclosed></svg>")

    with override_settings(STATICFILES_DIRS=[static]):
        result = page(signed_in)

    generic = "/static/images/integrations/generic.svg"
    assert result.connectors["hubspot"]["icon"] == generic
    assert result.connectors["stripe"]["icon"] == generic
    assert result.connectors["xero"]["icon"] == "/static/images/integrations/fivetran/xero.svg"


def test_every_icon_and_asset_the_page_uses_exists(signed_in):
    response = signed_in.get(URL)
    html = response.content.decode()
    for asset in ("css/app.css", "js/catalogue.js", "images/integrations/generic.svg"):
        assert finders.find(asset), asset
    assert 'src="/static/js/catalogue.js"' in html and 'href="/static/css/app.css"' in html
    for connector in CataloguePage(html).connectors.values():
        assert finders.find(connector["icon"].removeprefix("/static/")), connector["icon"]


def test_layout_shows_product_user_and_a_post_logout(signed_in):
    response = signed_in.get(URL)
    result = CataloguePage(response.content.decode())
    assert b"Gyana Connect" in response.content
    assert b"Ada Lovelace" in response.content
    assert [form["method"] for form in result.logout_forms] == ["post"]
    assert b'name="viewport"' in response.content


def test_logout_by_post_signs_out(signed_in):
    response = signed_in.post("/accounts/logout/")
    assert response.status_code == 302
    assert signed_in.get(URL).status_code == 302


def test_page_is_get_only(signed_in):
    assert signed_in.post(URL).status_code == 405


# --- in a real browser ------------------------------------------------------------------------


@pytest.fixture
def browser_page(live_server, user, client):
    """A Chromium page signed in as `user` (the session cookie comes from the test client)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        missing_service("Chromium")
    from playwright.sync_api import sync_playwright

    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740})
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
        try:
            yield context.new_page(), live_server.url
        finally:
            browser.close()


def visible_services(browser) -> set[str]:
    return set(browser.eval_on_selector_all("li[data-service]:not([hidden])", "els => els.map(e => e.dataset.service)"))


@pytest.mark.django_db(transaction=True)
@override_settings(SHOW_INTERNAL_SERVICES=False)
def test_search_filters_as_you_type(browser_page):
    browser, base_url = browser_page
    browser.goto(base_url + URL)
    everything = visible_services(browser)
    assert {"hubspot", "stripe", "postgres"} <= everything

    browser.locator("#catalogue-q").press_sequentially("hubsp")
    assert visible_services(browser) == {"hubspot"}
    assert browser.locator('[data-category="Finance"]').is_hidden()
    assert browser.locator("#catalogue-empty").is_hidden()
    assert browser.url.endswith(f"{URL}?q=hubsp")

    browser.locator("#catalogue-q").fill("zzz")
    assert visible_services(browser) == set()
    assert browser.locator("#catalogue-empty").is_visible()
    assert " ".join(browser.locator("#catalogue-empty").inner_text().split()) == "No connector matches “zzz”"

    browser.locator("#catalogue-q").fill("")
    assert visible_services(browser) == everything
    assert browser.locator("#catalogue-empty").is_hidden()


@pytest.mark.django_db(transaction=True)
def test_page_loads_every_icon_and_widens_a_server_side_search(browser_page):
    browser, base_url = browser_page
    browser.goto(base_url + URL + "?q=hubspot")
    assert visible_services(browser) == {"hubspot"}
    browser.wait_for_load_state("load")
    broken = browser.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == []
    browser.locator("#catalogue-q").fill("stripe")
    assert visible_services(browser) == {"stripe"}
    # Narrow window: nothing overflows horizontally.
    assert browser.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
