"""Reading an activity's failure inside a workflow: its type, and the words to show people."""

from __future__ import annotations

from temporalio.exceptions import ActivityError, ApplicationError


def failed_with(error: ActivityError, error_type: str) -> bool:
    """The activity raised an ApplicationError of this type."""
    cause = error.cause
    return isinstance(cause, ApplicationError) and cause.type == error_type


def words(error: ActivityError) -> str:
    """The innermost message: Fivetran's own words where the cause was Fivetran's answer."""
    cause: BaseException | None = error
    while cause is not None and getattr(cause, "cause", None) is not None:
        cause = cause.cause
    return str(getattr(cause, "message", "") or cause or error)
