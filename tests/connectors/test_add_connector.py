"""`manage.py add_connector <id>` against the Fivetran emulator, writing into a copy of services.yaml."""

import os
import re
import subprocess
import sys

import pytest
import yaml

from connectors.catalogue import DEFAULT_PATH, load_catalogue, svg_problem
from connectors.onboarding import insert_stanza
from tests.support.paths import REPO


def run(emulator, *args, tmp_path):
    env = dict(os.environ)
    env.update(
        FIVETRAN_API_URL=emulator.api_url,
        FIVETRAN_API_KEY=emulator.api_key,
        FIVETRAN_API_SECRET=emulator.api_secret,
        VAR_DIR=str(tmp_path / "var"),
    )
    return subprocess.run(
        [sys.executable, "manage.py", "add_connector", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


def catalogue_without(tmp_path, *service_ids):
    """A copy of the real catalogue with some stanzas taken out (the emulator still knows them)."""
    text = DEFAULT_PATH.read_text()
    for service_id in service_ids:
        text = re.sub(rf"^{service_id}:\n(  .*\n)+", "", text, flags=re.M)
    path = tmp_path / "services.yaml"
    path.write_text(text)
    return path


@pytest.mark.timeout(240)
def test_adds_the_stanza_and_icon_from_fivetrans_metadata(emulator, tmp_path):
    services = catalogue_without(tmp_path, "hubspot", "postgres", "google_sheets")
    icons = tmp_path / "icons"
    for service_id in ("hubspot", "postgres", "google_sheets"):
        result = run(emulator, service_id, "--services", str(services), "--icons", str(icons), tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "System check: no issues." in result.stdout
        assert svg_problem(icons / f"{service_id}.svg") is None

    catalogue = load_catalogue(services)
    hubspot, postgres, sheets = catalogue.get("hubspot"), catalogue.get("postgres"), catalogue.get("google_sheets")
    assert (hubspot.name, hubspot.category, hubspot.requires_schema_prefix) == ("HubSpot", "Marketing", False)
    assert hubspot.docs_url == "https://fivetran.com/docs/connectors/applications/hubspot"
    assert (postgres.category, postgres.requires_schema_prefix) == ("Database", True)
    assert dict(sheets.static_config) == {"table": "google_sheets_table"}
    # Each lands in its category's section of the file, which keeps its comments.
    text = services.read_text()
    assert text.startswith("# The connectors we offer")
    assert text.index("hubspot:") < text.index("# Sales") and text.index("postgres:") > text.index("# Database")
    # The brand mark from Simple Icons, not a lettermark.
    assert "data-brand-mark" in (icons / "hubspot.svg").read_text()
    # Nothing else changed: the rest of the catalogue is as it was.
    original = yaml.safe_load(DEFAULT_PATH.read_text())
    assert set(yaml.safe_load(text)) == set(original)


def test_an_unknown_id_is_a_one_line_error_and_changes_nothing(emulator, tmp_path):
    services = catalogue_without(tmp_path)
    before = services.read_text()
    result = run(emulator, "no_such_connector", "--services", str(services), "--icons", str(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == "CommandError: Fivetran has no connector type 'no_such_connector'."
    assert services.read_text() == before


def test_a_connector_already_in_the_catalogue_is_refused(emulator, tmp_path):
    services = catalogue_without(tmp_path)
    result = run(emulator, "hubspot", "--services", str(services), "--icons", str(tmp_path), tmp_path=tmp_path)
    assert result.returncode == 1 and "already in services.yaml" in result.stderr


def test_a_stanza_goes_to_the_end_of_its_section_or_a_new_one():
    text = "# Head\n\n# Sales\na:\n  x: 1\n\n# File\nb:\n  x: 2\n"
    assert insert_stanza(text, "c:\n  x: 3\n", "Sales") == "# Head\n\n# Sales\na:\n  x: 1\nc:\n  x: 3\n\n# File\nb:\n  x: 2\n"
    assert insert_stanza(text, "d:\n  x: 4\n", "Log").endswith("b:\n  x: 2\n\n# Log\nd:\n  x: 4\n")
