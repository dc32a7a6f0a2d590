from channels.management.commands.runworker import Command as ChannelsRunworker

from integrations.engine.worker import SetupWorker


class Command(ChannelsRunworker):
    """Channels' runworker, with the set-up Runner (and its sweeper) started with the process."""

    worker_class = SetupWorker
