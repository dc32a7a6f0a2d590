"""The Redis channel layer, with receivers that wait through a Redis outage instead of failing.

channels_redis builds its connection pool without a retry, so a Redis restart or `CLIENT KILL`
fails the blocking receive. In daphne that crashed the consumer holding the process's receive
(daphne closes it with 1011) and, while Redis stayed down, each consumer that took the receive
over after it; in a worker process it ended the process. A receiver has nothing better to do than wait,
so `receive` retries for as long as it takes, with capped, jittered backoff (redis-py's own Retry,
as in consumers/membership.py). Messages Redis held when it restarted are lost: they are doorbells,
and everything they announce is in the database.
"""

import logging

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff

logger = logging.getLogger(__name__)

RECEIVE_BACKOFF_BASE = 0.1
RECEIVE_BACKOFF_CAP = 5.0  # seconds between attempts once Redis has been gone a while
LOG_EVERY = 10  # failed attempts: one warning per outage start and then every tenth, not per attempt


class RedisChannelLayer(BaseRedisChannelLayer):
    async def receive(self, channel):
        async def attempt():
            return await super(RedisChannelLayer, self).receive(channel)

        async def failed(error, failures):
            if failures == 1 or failures % LOG_EVERY == 0:
                logger.warning("channel layer receive failed %d time(s), retrying: %s", failures, error)

        # retries=-1: without end; the task is cancelled when its consumer or worker stops.
        retry = Retry(EqualJitterBackoff(cap=RECEIVE_BACKOFF_CAP, base=RECEIVE_BACKOFF_BASE), -1)
        return await retry.call_with_retry(attempt, failed, with_failure_count=True)
