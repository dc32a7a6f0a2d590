"""What a step function receives and what it answers. The runner turns answers into state changes."""

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from integrations.models import Integration, SetupStep


@dataclass(frozen=True)
class Done:
    detail: dict = field(default_factory=dict)
    message: str = ""
    # Further events [(type, data)] written in the same transaction as the step's completion.
    events: list = field(default_factory=list)


@dataclass(frozen=True)
class Skipped:
    reason: str


@dataclass(frozen=True)
class WaitForUser:
    kind: str  # connect_card | select_tables | reconnect
    url: str
    message: str = ""
    recheck_after: float | None = None  # run the step again after this long even if nobody acts


@dataclass(frozen=True)
class CheckAgain:
    """Not finished; run me again later. The step keeps no worker while it waits."""

    after_seconds: float
    scratch: dict | None = None


@dataclass(frozen=True)
class Failed:
    code: str
    message: str
    retryable: bool = True


Outcome = Done | Skipped | WaitForUser | CheckAgain | Failed


@dataclass
class StepContext:
    integration: Integration
    step: SetupStep
    # Persist and publish progress (done, total, unit, message); a no-op when nothing changed.
    report: Callable[..., Awaitable[None]]
    # Persist a step's bookkeeping at once (before an external call whose effect must not repeat).
    save_scratch: Callable[[dict], Awaitable[None]]

    @property
    def scratch(self) -> dict[str, Any]:
        return self.step.scratch
