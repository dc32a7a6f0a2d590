"""Adding a Fivetran connector to the catalogue from Fivetran's own metadata: its services.yaml
stanza and its icon, in one step (`manage.py add_connector <service id>`).

The stanza is added as text inside its category's section, so the file's comments and order stay
as people wrote them; the file is loaded and validated afterwards, and restored if it no longer loads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from connectors import icons
from connectors.catalogue import SERVICE_ID, CatalogueError, load_catalogue
from connectors.fivetran import ConnectorType, FivetranClient, FivetranError

# A tile colour for a brand Simple Icons does not know: the catalogue's neutral slate.
NEUTRAL_COLOUR = "#5b6b7a"
PLAIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 .&()/+-]*$")


class AddConnectorError(Exception):
    """Why the connector was not added, in one line."""


@dataclass(frozen=True)
class AddedConnector:
    service_id: str
    name: str
    category: str
    icon: str  # "brand" or "lettermark"
    stanza: str


def stanza_text(connector: ConnectorType, colour: str) -> str:
    """The services.yaml entry for a connector type, in the file's own style."""
    properties = set(connector.config_properties)
    name = connector.name if PLAIN_NAME.match(connector.name) else json.dumps(connector.name)
    lines = [
        f"{connector.id}:",
        f"  name: {name}",
        f'  color: "{colour}"',
        f"  category: {connector.type or 'Other'}",
        "  internal: false",
        # Databases take a schema prefix (each source schema lands in <prefix>_<schema>).
        f"  requires_schema_prefix: {'true' if 'schema_prefix' in properties else 'false'}",
    ]
    if "table" in properties:
        # A single-table connector needs its destination table named at creation.
        lines += ["  static_config:", f"    table: {connector.id}_table"]
    else:
        lines.append("  static_config: {}")
    if connector.link_to_docs and connector.link_to_docs.startswith("https://"):
        lines.append(f"  docs_url: {connector.link_to_docs}")
    return "\n".join(lines) + "\n"


def insert_stanza(text: str, stanza: str, category: str) -> str:
    """`text` with `stanza` at the end of the `# <category>` section (a new section at the end)."""
    lines = text.splitlines(keepends=True)
    header = f"# {category}\n"
    if header not in lines:
        return text.rstrip("\n") + f"\n\n{header}{stanza}"
    start = lines.index(header) + 1
    end = next(
        (i for i in range(start, len(lines)) if re.match(r"^# \S", lines[i])),
        len(lines),
    )
    while end > start and not lines[end - 1].strip():  # keep the blank line before the next section
        end -= 1
    if end and not lines[end - 1].endswith("\n"):
        lines[end - 1] += "\n"
    return "".join(lines[:end]) + stanza + "".join(lines[end:])


async def add_connector(
    service_id: str, *, client: FivetranClient, services_path: Path, icon_dir: Path
) -> AddedConnector:
    if not SERVICE_ID.match(service_id or ""):
        raise AddConnectorError(f"{service_id!r} is not a Fivetran service id (lowercase letters, digits and _).")
    before = services_path.read_text(encoding="utf-8")
    if service_id in load_catalogue(services_path):
        raise AddConnectorError(f"{service_id} is already in {services_path.name}.")
    try:
        connector = await client.get_connector_type(service_id)
    except FivetranError as error:
        if error.status == 404:
            raise AddConnectorError(f"Fivetran has no connector type {service_id!r}.") from error
        raise AddConnectorError(f"Fivetran did not answer: {error.message}") from error

    colour = icons.brand_colour(connector.id, connector.name) or NEUTRAL_COLOUR
    stanza = stanza_text(connector, colour)
    services_path.write_text(insert_stanza(before, stanza, connector.type or "Other"), encoding="utf-8")
    try:
        load_catalogue(services_path)
    except CatalogueError as error:
        services_path.write_text(before, encoding="utf-8")
        raise AddConnectorError(f"the new entry does not load, so {services_path.name} was left as it was: {error}")
    kind = icons.write_icon(icon_dir / f"{connector.id}.svg", connector.id, connector.name, colour) or "kept"
    return AddedConnector(connector.id, connector.name, connector.type, kind, stanza)
