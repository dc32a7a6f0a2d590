"""The connector catalogue: strict loading, immutability, create-call config, search and the check."""

import dataclasses
import json
import shutil
import textwrap
from pathlib import Path

import pytest
from django.core.checks import Error, Warning
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from connectors.catalogue import (
    DEFAULT_PATH,
    Catalogue,
    CatalogueError,
    connection_config,
    get_catalogue,
    icon_problem,
    load_catalogue,
)
from connectors.checks import check_service_catalogue
from tests.support.paths import REPO

REQUIRED_IDS = {
    "google_sheets", "postgres", "mysql", "sql_server", "hubspot", "salesforce", "stripe", "shopify",
    "google_ads", "facebook_ads", "google_analytics_4", "zendesk", "jira", "github", "intercom",
    "mailchimp", "netsuite_suiteanalytics", "quickbooks", "xero", "snowflake_db", "amplitude",
    "segment", "s3", "gcs",
}  # fmt: skip
DATABASE_IDS = {"postgres", "mysql", "sql_server", "snowflake_db", "oracle", "mongo"}
SINGLE_TABLE_IDS = {"google_sheets", "s3", "gcs", "sftp"}

HUBSPOT = """\
hubspot:
  name: HubSpot
  color: "#ff7a59"
  category: Marketing
  internal: false
  requires_schema_prefix: false
  static_config: {}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "services.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def hubspot_with(field: str, value: str | None) -> str:
    """The valid HubSpot entry with one field replaced (value None removes it)."""
    lines = []
    for line in HUBSPOT.splitlines():
        if line.startswith(f"  {field}:"):
            if value is not None:
                lines.append(f"  {field}: {value}")
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


# --- the shipped catalogue ---------------------------------------------------------------------


def test_real_catalogue_is_large_varied_and_complete():
    catalogue = load_catalogue(DEFAULT_PATH)
    assert len(catalogue) >= 45
    assert len({service.category for service in catalogue}) >= 6
    assert REQUIRED_IDS <= {service.id for service in catalogue}


def test_real_catalogue_flags_databases_single_table_and_internal_services():
    catalogue = get_catalogue()
    for service_id in DATABASE_IDS:
        service = catalogue.get(service_id)
        assert service.requires_schema_prefix, service_id
        assert service.category == "Database"
    for service in catalogue:
        # Only databases land one dataset per source schema.
        assert service.requires_schema_prefix == (service.category == "Database"), service.id
    for service_id in SINGLE_TABLE_IDS:
        assert catalogue.get(service_id).single_table, service_id
    assert not catalogue.get("hubspot").single_table
    internal = {service.id for service in catalogue if service.internal}
    assert {"fivetran_log", "webhooks"} <= internal
    assert 2 <= len(internal) <= 3


def test_real_catalogue_passes_the_check_without_warnings():
    assert check_service_catalogue() == []


def test_get_catalogue_is_cached():
    assert get_catalogue() is get_catalogue()


# --- strict loading ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        (hubspot_with("color", "blue"), "services.yaml: hubspot.color: 'blue' is not a #rrggbb colour"),
        (hubspot_with("color", '"#ff7a5"'), "services.yaml: hubspot.color: '#ff7a5' is not a #rrggbb colour"),
        # A bare # starts a YAML comment, so the value silently becomes null.
        (hubspot_with("color", "#ff7a59"), "services.yaml: hubspot.color: is empty"),
        (hubspot_with("name", None), "services.yaml: hubspot.name: is missing"),
        (hubspot_with("category", None), "services.yaml: hubspot.category: is missing"),
        (hubspot_with("static_config", None), "services.yaml: hubspot.static_config: is missing"),
        (hubspot_with("name", '""'), "services.yaml: hubspot.name: '' is not a non-empty string"),
        (HUBSPOT + "  colour: red\n", "services.yaml: hubspot.colour: unknown field"),
        (hubspot_with("internal", "maybe"), "services.yaml: hubspot.internal: 'maybe' is not a boolean"),
        (hubspot_with("requires_schema_prefix", "1"), "services.yaml: hubspot.requires_schema_prefix: 1 is not a boolean"),
        (hubspot_with("static_config", "[table]"), "services.yaml: hubspot.static_config: must be a mapping, not a list"),
        (hubspot_with("static_config", "sheets_table"), "services.yaml: hubspot.static_config: must be a mapping, not a str"),
        (hubspot_with("static_config", "{schema: shared}"), "services.yaml: hubspot.static_config.schema: is set per connection"),
        (hubspot_with("static_config", "{start: 2024-01-01}"), "services.yaml: hubspot.static_config.start: datetime.date(2024, 1, 1) is not a JSON value"),
        (hubspot_with("static_config", "{loop: &a [*a]}"), "services.yaml: hubspot.static_config.loop"),
        (HUBSPOT.replace("hubspot:", "HubSpot:"), "services.yaml: HubSpot: 'HubSpot' is not a valid service id"),
        (HUBSPOT.replace("hubspot:", "hub-spot:"), "services.yaml: hub-spot: 'hub-spot' is not a valid service id"),
        (HUBSPOT.replace("hubspot:", "123:"), "services.yaml: 123: 123 is not a valid service id"),
        ("hubspot: HubSpot\n", "services.yaml: hubspot: must be a mapping of fields, not a str"),
        ("- hubspot\n- stripe\n", "services.yaml: the top level must be a mapping of service id to service, not a list"),
        ("", "services.yaml: the top level must be a mapping of service id to service, not nothing"),
        ("{}\n", "services.yaml: the catalogue has no services"),
    ],
)
def test_invalid_catalogue_names_file_service_and_field(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert str(caught.value).startswith(expected), str(caught.value)


def test_error_carries_service_and_field(tmp_path):
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(write(tmp_path, hubspot_with("color", "blue")))
    assert (caught.value.path.name, caught.value.service, caught.value.field) == ("services.yaml", "hubspot", "color")


def test_duplicate_service_key_is_an_error_with_both_lines(tmp_path):
    # PyYAML alone would silently keep the second HubSpot.
    path = write(tmp_path, HUBSPOT + HUBSPOT.replace("HubSpot", "HubSpot again"))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert str(caught.value) == "services.yaml: hubspot: duplicate key 'hubspot' on line 8 (first on line 1)"


def test_duplicate_field_is_an_error(tmp_path):
    path = write(tmp_path, HUBSPOT + '  color: "#000000"\n')
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert str(caught.value) == "services.yaml: hubspot.color: duplicate key 'color' on line 8 (first on line 3)"


def test_duplicate_key_inside_static_config_is_an_error(tmp_path):
    path = write(tmp_path, hubspot_with("static_config", "{table: a, table: b}"))
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    assert str(caught.value).startswith("services.yaml: hubspot.static_config.table: duplicate key 'table' on line 7")


def test_unparseable_yaml_names_the_line(tmp_path):
    path = write(tmp_path, HUBSPOT + "stripe:\n  name: [Stripe\n  color: '#635bff'\n")
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(path)
    message = str(caught.value)
    assert message.startswith("services.yaml: line ")
    assert "cannot parse YAML" in message
    line = int(message.split("line ")[1].split(":")[0])
    assert 9 <= line <= 11


def test_missing_file_is_a_catalogue_error(tmp_path):
    with pytest.raises(CatalogueError, match="services.yaml: cannot read the file"):
        load_catalogue(tmp_path / "services.yaml")


@pytest.mark.parametrize(
    "internal, prefix, expected",
    [
        ("t", "f", (True, False)),
        ("f", "t", (False, True)),
        ('"true"', '"false"', (True, False)),
        ("False", "TRUE", (False, True)),
        ("yes", "no", (True, False)),
    ],
)
def test_booleans_accept_yaml_and_legacy_strings(tmp_path, internal, prefix, expected):
    text = hubspot_with("internal", internal)
    text = text.replace("requires_schema_prefix: false", f"requires_schema_prefix: {prefix}")
    service = load_catalogue(write(tmp_path, text)).get("hubspot")
    assert (service.internal, service.requires_schema_prefix) == expected
    assert isinstance(service.internal, bool)


def test_colour_is_normalised_and_null_static_config_means_empty(tmp_path):
    text = hubspot_with("color", '"#FF7A59"').replace("static_config: {}", "static_config:")
    service = load_catalogue(write(tmp_path, text)).get("hubspot")
    assert service.color == "#ff7a59"
    assert dict(service.static_config) == {}


# --- immutability and the create call's config ----------------------------------------------------


def test_connection_config_uses_schema_or_schema_prefix_plus_static_config():
    catalogue = get_catalogue()
    assert connection_config(catalogue.get("google_sheets"), "team_1_sheets") == {
        "schema": "team_1_sheets",
        "table": "sheets_table",
    }
    assert connection_config(catalogue.get("hubspot"), "team_1_hubspot") == {"schema": "team_1_hubspot"}
    assert connection_config(catalogue.get("postgres"), "team_1_pg") == {"schema_prefix": "team_1_pg"}
    s3 = connection_config(catalogue.get("s3"), "team_1_s3")
    assert s3["schema"] == "team_1_s3" and s3["table"] == "s3_table"
    with pytest.raises(ValueError):
        connection_config(catalogue.get("hubspot"), "")


def test_mutating_a_built_config_does_not_leak_to_other_callers():
    first = get_catalogue()
    config = connection_config(first.get("google_sheets"), "team_a")
    config["table"] = "hacked"
    config["schema"] = "someone_else"
    config["extra"] = True

    second = load_catalogue(DEFAULT_PATH)
    for catalogue in (first, second, get_catalogue()):
        sheets = catalogue.get("google_sheets")
        assert dict(sheets.static_config) == {"table": "sheets_table"}
        assert connection_config(sheets, "team_b") == {"schema": "team_b", "table": "sheets_table"}


def test_nested_static_config_is_deeply_frozen_and_config_is_deeply_copied(tmp_path):
    text = hubspot_with("static_config", "{table: t, options: {columns: [a, b]}}")
    service = load_catalogue(write(tmp_path, text)).get("hubspot")

    with pytest.raises(TypeError):
        service.static_config["table"] = "other"
    with pytest.raises(TypeError):
        service.static_config["options"]["columns"] = []
    with pytest.raises(AttributeError):
        service.static_config["options"]["columns"].append("c")
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.name = "Renamed"

    config = connection_config(service, "team_a")
    config["options"]["columns"].append("c")
    config["options"]["new"] = 1
    assert connection_config(service, "team_b") == {
        "schema": "team_b",
        "table": "t",
        "options": {"columns": ["a", "b"]},
    }
    # The create call serialises it: no read-only proxies or tuples may leak out.
    assert json.loads(json.dumps(connection_config(service, "x")))["options"] == {"columns": ["a", "b"]}


def test_catalogue_itself_cannot_be_modified():
    catalogue = get_catalogue()
    with pytest.raises(TypeError):
        catalogue._services["evil"] = catalogue.get("hubspot")
    assert catalogue.get("evil") is None


# --- visibility, search and grouping ------------------------------------------------------------------


def test_visible_hides_internal_services_unless_asked():
    catalogue = get_catalogue()
    public = {service.id for service in catalogue.visible(show_internal=False)}
    everything = {service.id for service in catalogue.visible(show_internal=True)}
    assert "fivetran_log" not in public and "webhooks" not in public
    assert everything == {service.id for service in catalogue}
    assert len(everything) == len(catalogue)


def test_search_matches_name_id_and_category_case_insensitively():
    catalogue = get_catalogue()
    ids = lambda query, internal=False: {s.id for s in catalogue.search(query, show_internal=internal)}  # noqa: E731
    assert ids("HUBSPOT") == {"hubspot"}
    assert ids("suiteanalytics") == {"netsuite_suiteanalytics"}  # by id
    assert ids("netsuite_suite") == {"netsuite_suiteanalytics"}
    assert "snowflake_db" in ids("database") and "hubspot" not in ids("database")  # by category
    assert ids("google ads") == {"google_ads"}  # every term must match
    assert ids("human resources") == {"greenhouse", "lever", "bamboohr"}
    assert ids("webhooks") == set()
    assert ids("webhooks", internal=True) == {"webhooks"}
    assert ids("no such connector") == set()
    assert len(catalogue.search("", show_internal=False)) == len(catalogue.visible(show_internal=False))


def test_by_category_groups_in_alphabetical_order():
    catalogue = get_catalogue()
    groups = Catalogue.by_category(catalogue.visible(show_internal=False))
    names = [category for category, _ in groups]
    assert names == sorted(names, key=str.casefold)
    assert len(names) == len(set(names)) >= 6
    for category, services in groups:
        assert services and all(service.category == category for service in services)


# --- the system check -----------------------------------------------------------------------------------


def test_check_reports_a_broken_catalogue_as_an_error(tmp_path):
    path = write(tmp_path, hubspot_with("color", "blue"))
    with override_settings(CONNECTORS_SERVICES_PATH=path):
        messages = check_service_catalogue()
    assert len(messages) == 1
    assert isinstance(messages[0], Error) and messages[0].id == "connectors.E001"
    assert messages[0].msg == "services.yaml: hubspot.color: 'blue' is not a #rrggbb colour"


def test_manage_py_check_fails_on_a_broken_catalogue(tmp_path):
    path = write(tmp_path, HUBSPOT + HUBSPOT)
    with override_settings(CONNECTORS_SERVICES_PATH=path), pytest.raises(SystemCheckError) as caught:
        call_command("check")
    assert "connectors.E001" in str(caught.value)
    assert "services.yaml: hubspot: duplicate key 'hubspot'" in str(caught.value)


def test_manage_py_check_passes_on_the_real_catalogue():
    call_command("check")


@pytest.fixture
def static_copy(tmp_path):
    """A copy of the static files that a test may break, used in place of the real ones."""
    static = tmp_path / "static"
    shutil.copytree(REPO / "static", static)
    with override_settings(STATICFILES_DIRS=[static]):
        yield static


def test_check_warns_about_each_missing_or_malformed_icon(tmp_path, static_copy):
    icons = static_copy / "images/integrations/fivetran"
    (icons / "hubspot.svg").unlink()
    (icons / "stripe.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'><rect></svg>")
    (icons / "xero.svg").write_text("<html><body>not an icon</body></html>")

    messages = check_service_catalogue()

    assert all(isinstance(message, Warning) and message.id == "connectors.W001" for message in messages)
    by_service = {message.obj: message.msg for message in messages}
    assert set(by_service) == {"hubspot", "stripe", "xero"}
    assert "'hubspot' (HubSpot): icon images/integrations/fivetran/hubspot.svg is missing" in by_service["hubspot"]
    assert "is not valid XML" in by_service["stripe"]
    assert "has no <svg> root element" in by_service["xero"]


def test_check_warns_about_a_new_service_without_an_icon(tmp_path):
    text = HUBSPOT + HUBSPOT.replace("hubspot:", "acme_crm:").replace("HubSpot", "Acme CRM")
    with override_settings(CONNECTORS_SERVICES_PATH=write(tmp_path, text)):
        messages = check_service_catalogue()
    assert [(message.id, message.obj) for message in messages] == [("connectors.W001", "acme_crm")]
    assert "Acme CRM" in messages[0].msg


def test_icon_fixed_on_disk_is_picked_up(static_copy):
    icon = static_copy / "images/integrations/fivetran/hubspot.svg"
    good = icon.read_text()
    icon.write_text("not xml at all")
    hubspot = get_catalogue().get("hubspot")
    assert icon_problem(hubspot)
    icon.write_text(good + "\n")
    assert icon_problem(hubspot) is None
