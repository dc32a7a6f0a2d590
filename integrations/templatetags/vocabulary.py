"""The set-up's words for templates, from integrations.vocabulary (the one place they are declared)."""

from django import template

from integrations.vocabulary import (
    ACTION_EXPLANATIONS,
    ACTION_LABELS,
    CONNECTION_HEALTH_LABELS,
    INTEGRATION_STATE_LABELS,
    NOTIFICATIONS_WEBSOCKET_PATH,
    PHASE_STATE_LABELS,
    SETUP_PHASES,
    STEP_STATE_LABELS,
    SYNC_STATUS_LABELS,
    TEAM_WEBSOCKET_PATH,
    phase_state,
    websocket_path,
)

register = template.Library()

FINISHED = ("done", "skipped")


@register.filter
def integration_state_label(state: str) -> str:
    return INTEGRATION_STATE_LABELS.get(state, state)


@register.filter
def health_label(health: str) -> str:
    return CONNECTION_HEALTH_LABELS.get(health, health)


@register.filter
def sync_status_label(status: str) -> str:
    return SYNC_STATUS_LABELS.get(status, status)


@register.filter
def frequency_label(minutes) -> str:
    """'Every 15 minutes', 'Every 6 hours', 'Every day': how Fivetran's own dashboard says it."""
    if not minutes:
        return "Manual"
    if minutes == 1440:
        return "Every day"
    if minutes % 60 == 0:
        hours = minutes // 60
        return "Every hour" if hours == 1 else f"Every {hours} hours"
    return "Every minute" if minutes == 1 else f"Every {minutes} minutes"


@register.filter
def step_state_label(state: str) -> str:
    return STEP_STATE_LABELS.get(state, state)


@register.filter
def phase_state_label(state: str) -> str:
    return PHASE_STATE_LABELS.get(state, state)


@register.filter
def action_label(kind: str) -> str:
    return ACTION_LABELS.get(kind, "Continue")


@register.filter
def action_explanation(kind: str) -> str:
    return ACTION_EXPLANATIONS.get(kind, "")


@register.simple_tag
def integration_socket_path(integration_id) -> str:
    return websocket_path(integration_id)


@register.simple_tag
def team_socket_path() -> str:
    return TEAM_WEBSOCKET_PATH


@register.simple_tag
def notifications_socket_path() -> str:
    return NOTIFICATIONS_WEBSOCKET_PATH


def phase_views(steps: list[dict]) -> list[dict]:
    """The snapshot's steps grouped into the user's phases, each with what the page shows first:
    its state, the step it is on, and its one line of news. static/js/flow-page.js does the same
    from the live model."""
    by_name = {step["name"]: step for step in steps}
    phases = []
    for name, label, about, step_names in SETUP_PHASES:
        members = [by_name[step] for step in step_names if step in by_name]
        state = phase_state([step["state"] for step in members])
        current = next((step for step in members if step["state"] not in FINISHED), None)
        if current is None or current["state"] == "pending":
            # Finished, or between two steps: the latest news is the last finished step's.
            news = next((step["message"] for step in reversed(members) if step["state"] in FINISHED and step["message"]), "")
        else:
            news = current["message"] if current["state"] != "failed" else ""
        phases.append(
            {
                "name": name,
                "label": label,
                "description": about,
                "state": state,
                "steps": members,
                "current": current,
                "news": news if state != "pending" else "",
            }
        )
    return phases


@register.filter
def setup_phases(snapshot: dict) -> list[dict]:
    return phase_views(snapshot["steps"])
