"""The set-up's words for templates, from integrations.vocabulary (the one place they are declared)."""

from django import template

from integrations.vocabulary import INTEGRATION_STATE_LABELS, STEP_STATE_LABELS, websocket_path

register = template.Library()


@register.filter
def integration_state_label(state: str) -> str:
    return INTEGRATION_STATE_LABELS.get(state, state)


@register.filter
def step_state_label(state: str) -> str:
    return STEP_STATE_LABELS.get(state, state)


@register.simple_tag
def integration_socket_path(integration_id) -> str:
    return websocket_path(integration_id)
