"""The connector catalogue: which Fivetran services we offer and how a connection of each is named.

`services.yaml` is read once, validated strictly and exposed as immutable objects. The old app kept
a plain dict cache and wrote the schema name into it per request, leaking state across requests:
here nothing handed out can be mutated, and `connection_config` always builds a new dict.
"""

from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from connectors.frozen import freeze, thaw

DEFAULT_PATH = Path(__file__).resolve().parent / "services.yaml"
ICON_DIR = "images/integrations/fivetran"
GENERIC_ICON = "images/integrations/generic.svg"

FIELDS = ("name", "color", "internal", "requires_schema_prefix", "category", "static_config")
OPTIONAL_FIELDS = ("docs_url",)
BOOLEAN_FIELDS = ("internal", "requires_schema_prefix")
# The naming keys belong to connection_config: a static value would point every connection of
# the service at one dataset.
NAMING_KEYS = ("schema", "schema_prefix")

SERVICE_ID = re.compile(r"^[a-z0-9_]+$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Fivetran's setup guides: https://fivetran.com/docs/connectors/<kind>/<slug>.
DOCS_ROOT = "https://fivetran.com/docs/connectors"
DOCS_KINDS = {"Database": "databases", "File": "files"}
# Legacy catalogues wrote flags as Postgres-style t/f strings.
BOOLEAN_STRINGS = {"t": True, "true": True, "f": False, "false": False}


class CatalogueError(Exception):
    """The catalogue file is unusable. The message names the file, the service and the field."""

    def __init__(self, path: Path | str, problem: str, *, service: str | None = None, field: str | None = None):
        self.path = Path(path)
        self.service = service
        self.field = field
        self.problem = problem
        location = ".".join(part for part in (service, field) if part)
        prefix = f"{self.path.name}: {location}: " if location else f"{self.path.name}: "
        super().__init__(prefix + problem)


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    name: str
    color: str
    internal: bool
    requires_schema_prefix: bool
    category: str
    static_config: Mapping[str, Any]
    docs_url: str = ""

    @property
    def single_table(self) -> bool:
        return "table" in self.static_config

    @property
    def icon_path(self) -> str:
        """Static path of the service's icon (it may be missing: see `icon_url_path`)."""
        return f"{ICON_DIR}/{self.id}.svg"

    def search_text(self) -> str:
        """What a search query is matched against; the page's script matches the same text."""
        parts = (self.name, self.id, self.id.replace("_", " "), self.category, category_label(self.category))
        return " ".join(dict.fromkeys(part.casefold() for part in parts))

    def matches(self, query: str) -> bool:
        text = self.search_text()
        return all(term in text for term in query.casefold().split())


class Catalogue:
    def __init__(self, services: list[Service], path: Path):
        self.path = path
        self._services = MappingProxyType({service.id: service for service in services})

    def get(self, service_id: str) -> Service | None:
        return self._services.get(service_id)

    def __iter__(self) -> Iterator[Service]:
        return iter(self._services.values())

    def __len__(self) -> int:
        return len(self._services)

    def __contains__(self, service_id: object) -> bool:
        return service_id in self._services

    def visible(self, show_internal: bool) -> list[Service]:
        services = [s for s in self._services.values() if show_internal or not s.internal]
        return sorted(services, key=lambda s: s.name.casefold())

    def search(self, query: str, show_internal: bool) -> list[Service]:
        return [s for s in self.visible(show_internal) if s.matches(query)]

    @staticmethod
    def by_category(services: list[Service]) -> list[tuple[str, list[Service]]]:
        """Group services by category: categories alphabetically, services keep their order."""
        groups: dict[str, list[Service]] = {}
        for service in services:
            groups.setdefault(service.category, []).append(service)
        return sorted(groups.items(), key=lambda item: item[0].casefold())


def category_label(category: str) -> str:
    """Fivetran's type names are CamelCase ("HumanResources"); show them as words."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", category)


def connection_config(service: Service, schema_name: str) -> dict[str, Any]:
    """A new `config` for Fivetran's create call: the naming key plus the service's static config."""
    if not schema_name:
        raise ValueError("schema_name must not be empty")
    naming_key = "schema_prefix" if service.requires_schema_prefix else "schema"
    return {naming_key: schema_name, **thaw(service.static_config)}


# --- loading -------------------------------------------------------------------------------------


@functools.cache
def get_catalogue() -> Catalogue:
    return load_catalogue(DEFAULT_PATH)


def load_catalogue(path: Path | str) -> Catalogue:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueError(path, f"cannot read the file: {error.strerror or error}") from error
    document = _parse(path, text)
    if not isinstance(document, dict):
        raise CatalogueError(path, f"the top level must be a mapping of service id to service, not {_kind(document)}")
    if not document:
        raise CatalogueError(path, "the catalogue has no services")
    return Catalogue([_service(path, key, value) for key, value in document.items()], path)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys: PyYAML would silently keep the last one."""

    catalogue_path: Path = DEFAULT_PATH
    _root: yaml.Node | None = None

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if _hashable(key) and key in seen:
                service, field = self._location(node, key)
                raise CatalogueError(
                    self.catalogue_path,
                    f"duplicate key {key!r} on line {line} (first on line {seen[key]})",
                    service=service,
                    field=field,
                )
            if _hashable(key):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)

    def _location(self, node, key) -> tuple[str | None, str | None]:
        """(service, field path) naming the duplicated key, found by walking down from the root."""
        root = self._root
        if node is root:
            return str(key), None
        for service_key, service_node in root.value:
            path = _path_to(service_node, node)
            if path is not None:
                return str(service_key.value), ".".join([*path, str(key)])
        return None, str(key)


def _path_to(current, target, trail: tuple[str, ...] = (), seen: set[int] | None = None) -> tuple[str, ...] | None:
    seen = set() if seen is None else seen
    if current is target:
        return trail
    if id(current) in seen:  # aliases can make the node graph cyclic
        return None
    seen.add(id(current))
    if isinstance(current, yaml.MappingNode):
        children = [(str(key_node.value), value_node) for key_node, value_node in current.value]
    elif isinstance(current, yaml.SequenceNode):
        children = [(str(index), item) for index, item in enumerate(current.value)]
    else:
        return None
    for name, child in children:
        found = _path_to(child, target, (*trail, name), seen)
        if found is not None:
            return found
    return None


def _parse(path: Path, text: str) -> Any:
    loader = _Loader(text)
    loader.catalogue_path = path
    try:
        root = loader.get_single_node()
        loader._root = root
        return loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"line {mark.line + 1}: " if mark else ""
        problem = error.problem or error.context or "invalid YAML"
        raise CatalogueError(path, f"{line}cannot parse YAML: {problem}") from error
    except yaml.YAMLError as error:
        raise CatalogueError(path, f"cannot parse YAML: {error}") from error
    finally:
        loader.dispose()


def _service(path: Path, key: Any, value: Any) -> Service:
    if not isinstance(key, str) or not SERVICE_ID.match(key):
        raise CatalogueError(
            path, f"{key!r} is not a valid service id (lowercase letters, digits and _)", service=str(key)
        )
    if not isinstance(value, dict):
        raise CatalogueError(path, f"must be a mapping of fields, not {_kind(value)}", service=key)

    for field in value:
        if field not in FIELDS and field not in OPTIONAL_FIELDS:
            expected = ", ".join(FIELDS + OPTIONAL_FIELDS)
            raise CatalogueError(path, f"unknown field (expected one of: {expected})", service=key, field=str(field))
    for field in FIELDS:
        if field not in value:
            raise CatalogueError(path, "is missing", service=key, field=field)

    def fail(field: str, problem: str):
        raise CatalogueError(path, problem, service=key, field=field)

    name, category, color = value["name"], value["category"], value["color"]
    if not isinstance(name, str) or not name.strip():
        fail("name", f"{name!r} is not a non-empty string")
    if not isinstance(category, str) or not category.strip():
        fail("category", f"{category!r} is not a non-empty string")
    if color is None:
        fail("color", "is empty (quote the colour: a bare # starts a YAML comment)")
    if not isinstance(color, str) or not COLOUR.match(color):
        fail("color", f"{color!r} is not a #rrggbb colour")

    flags = {}
    for field in BOOLEAN_FIELDS:
        flag = value[field]
        if isinstance(flag, str) and flag.strip().lower() in BOOLEAN_STRINGS:
            flag = BOOLEAN_STRINGS[flag.strip().lower()]
        if not isinstance(flag, bool):
            fail(field, f"{value[field]!r} is not a boolean (true/false)")
        flags[field] = flag

    static_config = value["static_config"]
    if static_config is None:
        static_config = {}
    if not isinstance(static_config, dict):
        fail("static_config", f"must be a mapping, not {_kind(static_config)}")
    for naming_key in NAMING_KEYS:
        if naming_key in static_config:
            fail(f"static_config.{naming_key}", "is set per connection and cannot be static")
    _check_json(path, key, "static_config", static_config)

    docs_url = value.get("docs_url") or default_docs_url(key, category.strip())
    if not isinstance(docs_url, str) or not docs_url.startswith("https://"):
        fail("docs_url", f"{docs_url!r} is not an https:// address")

    return Service(
        id=key,
        name=name.strip(),
        color=color.lower(),
        internal=flags["internal"],
        requires_schema_prefix=flags["requires_schema_prefix"],
        category=category.strip(),
        static_config=freeze(static_config),
        docs_url=docs_url,
    )


def default_docs_url(service_id: str, category: str) -> str:
    """Fivetran's usual address of a connector's setup guide; services.yaml overrides it where the
    guide lives elsewhere."""
    kind = DOCS_KINDS.get(category, "applications")
    return f"{DOCS_ROOT}/{kind}/{service_id.replace('_', '-')}"


MAX_CONFIG_DEPTH = 10


def _check_json(path: Path, service: str, field: str, value: Any, depth: int = 0) -> None:
    """static_config goes into a JSON body: YAML dates, sets or binary would fail there, later."""
    if depth > MAX_CONFIG_DEPTH:
        # Also catches a YAML alias that refers to itself.
        raise CatalogueError(path, "is nested too deeply", service=service, field=field)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CatalogueError(path, f"key {key!r} is not a string", service=service, field=field)
            _check_json(path, service, f"{field}.{key}", item, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(path, service, f"{field}.{index}", item, depth + 1)
    elif value is not None and not isinstance(value, (str, int, float, bool)):
        raise CatalogueError(path, f"{value!r} is not a JSON value", service=service, field=field)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"a {type(value).__name__}"


# --- icons ---------------------------------------------------------------------------------------


def icon_problem(service: Service) -> str | None:
    """Why the service's icon cannot be shown (None when it is a usable SVG)."""
    from django.contrib.staticfiles import finders

    found = finders.find(service.icon_path)
    if not found:
        return f"icon {service.icon_path} is missing"
    return svg_problem(Path(found))


def icon_url_path(service: Service) -> str:
    """The static path to show for the service: its own icon, or the generic one."""
    return GENERIC_ICON if icon_problem(service) else service.icon_path


def svg_problem(path: Path) -> str | None:
    try:
        stat = path.stat()
    except OSError:
        return f"icon {path.name} is missing"
    return _svg_problem_cached(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=1024)
def _svg_problem_cached(path: str, mtime_ns: int, size: int) -> str | None:
    # mtime and size are part of the key so an icon fixed on disk is picked up without a restart.
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        return f"icon {os.path.basename(path)} is not valid XML ({error})"
    if root.tag not in ("svg", "{http://www.w3.org/2000/svg}svg"):
        return f"icon {os.path.basename(path)} has no <svg> root element"
    return None
