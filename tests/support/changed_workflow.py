"""Today's set-up workflow with one command changed, for the replay test to prove it can fail.
A module of its own, with nothing else in it: Temporal's sandbox re-imports it."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from integrations.engine import messages as m
    from integrations.engine.workflow import IntegrationSetup


@workflow.defn(name="IntegrationSetup")
class SetupWithADifferentFirstCommand(IntegrationSetup):
    @workflow.run
    async def run(self, params: m.SetupParams) -> str:
        await workflow.sleep(1)  # a timer where the history has the first activity
        return await super().run(params)
