"""`manage.py add_connector <service id>`: add a Fivetran connector to the catalogue from Fivetran's
metadata (GET /v1/metadata/connector-types/{id}): its services.yaml stanza and its icon, then the
catalogue's system check."""

import asyncio
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from connectors.catalogue import DEFAULT_PATH, ICON_DIR, icon_problem, svg_problem
from connectors.checks import check_catalogue
from connectors.fivetran import FivetranClient
from connectors.onboarding import AddConnectorError, add_connector


class Command(BaseCommand):
    help = "Add a Fivetran connector to connectors/services.yaml, with its icon, from Fivetran's metadata."

    def add_arguments(self, parser):
        parser.add_argument("service_id", help="Fivetran's service id, e.g. hubspot")
        parser.add_argument("--services", type=Path, default=DEFAULT_PATH, help="the catalogue file to write")
        parser.add_argument(
            "--icons", type=Path, default=Path(settings.BASE_DIR) / "static" / ICON_DIR, help="the icon folder"
        )

    def handle(self, *args, service_id: str, services: Path, icons: Path, **options):
        try:
            added = asyncio.run(self._add(service_id, services, icons))
        except AddConnectorError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Added {added.service_id} ({added.name}, {added.category}) to {services}:\n{added.stanza}")
        self.stdout.write(f"Icon: {icons / (added.service_id + '.svg')} ({added.icon}).")

        # The same check as start-up's, on the files just written (icons not in --icons: from static/).
        def icon_check(service):
            written = icons / f"{service.id}.svg"
            return svg_problem(written) if written.exists() else icon_problem(service)

        problems = check_catalogue(services, icon_check)
        for problem in problems:
            self.stderr.write(f"{problem.id}: {problem.msg}")
        if any(problem.is_serious() for problem in problems):
            raise CommandError("The catalogue's system check failed.")
        self.stdout.write("System check: no issues.")

    async def _add(self, service_id, services, icons):
        client = FivetranClient.from_settings()
        try:
            return await add_connector(service_id, client=client, services_path=services, icon_dir=icons)
        finally:
            await client.aclose()
