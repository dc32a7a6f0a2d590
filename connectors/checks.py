"""System check: a broken catalogue stops `manage.py check` and start-up; a bad icon is a warning."""

from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core import checks

from connectors.catalogue import (
    DEFAULT_PATH,
    CatalogueError,
    Service,
    get_catalogue,
    icon_problem,
    load_catalogue,
)


def catalogue_path() -> Path:
    """CONNECTORS_SERVICES_PATH exists so a test (or a deployment) can point the check elsewhere."""
    return Path(getattr(settings, "CONNECTORS_SERVICES_PATH", None) or DEFAULT_PATH)


def check_service_catalogue(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return check_catalogue(catalogue_path())


def check_catalogue(path: Path, icon_check: Callable[[Service], str | None] = icon_problem) -> list[checks.CheckMessage]:
    """The system check of one catalogue file; `manage.py add_connector` runs it on the file it wrote."""
    try:
        catalogue = get_catalogue() if path == DEFAULT_PATH else load_catalogue(path)
    except CatalogueError as error:
        return [
            checks.Error(
                str(error),
                hint=f"Fix {error.path}; the connector catalogue cannot be loaded.",
                obj=str(error.path),
                id="connectors.E001",
            )
        ]
    warnings = []
    for service in catalogue:
        problem = icon_check(service)
        if problem:
            warnings.append(
                checks.Warning(
                    f"Service {service.id!r} ({service.name}): {problem}; the generic icon is shown instead.",
                    hint="Add a valid SVG, e.g. with `python scripts/make_icons.py`.",
                    obj=service.id,
                    id="connectors.W001",
                )
            )
    return warnings
