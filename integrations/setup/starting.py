"""Starting an integration: which service, which team, and the name people will know it by.

Nothing is created at Fivetran here: the set-up's first step does that, once the user confirmed
on the connector page.
"""

from django.db.models.functions import Lower

from connectors.catalogue import Service, get_catalogue
from integrations.models import Integration
from integrations.setup.flow import integration_create
from teams.access import user_team

NAME_MAX_LENGTH = Integration._meta.get_field("name").max_length


class StartRefused(ValueError):
    """The integration cannot be started; the message says why, in words for the user."""


def offered_service(service_id, *, show_internal: bool) -> Service:
    service = get_catalogue().get(service_id) if isinstance(service_id, str) else None
    if service is None or (service.internal and not show_internal):
        raise StartRefused(f"Unknown service {service_id!r}.")
    return service


def _taken_names(team) -> set[str]:
    return set(Integration.objects.filter(team=team).annotate(folded=Lower("name")).values_list("folded", flat=True))


def default_name(team, service: Service) -> str:
    """The service's name, numbered when the team already has one of that name: "HubSpot 2"."""
    taken = _taken_names(team) if team is not None else set()
    if service.name.casefold() not in taken:
        return service.name
    number = 2
    while f"{service.name} {number}".casefold() in taken:
        number += 1
    return f"{service.name} {number}"


def clean_name(team, name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise StartRefused("Give the integration a name.")
    name = " ".join(name.split())
    if len(name) > NAME_MAX_LENGTH:
        raise StartRefused(f"Keep the name under {NAME_MAX_LENGTH} characters.")
    if name.casefold() in _taken_names(team):
        raise StartRefused(f"You already have an integration called “{name}”: choose another name.")
    return name


def integration_start(*, user, service_id, name=None, show_internal: bool) -> Integration:
    """Create the user's team's integration (its first step queued). `name` None: the default name."""
    service = offered_service(service_id, show_internal=show_internal)
    team = user_team(user)
    if team is None:
        raise StartRefused("You are not a member of any team.")
    name = default_name(team, service) if name is None else clean_name(team, name)
    return integration_create(team=team, user=user, service=service, name=name)
