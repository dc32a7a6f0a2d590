"""Joining an integration's channel group through a short Redis outage (a restart, a failover,
`CLIENT KILL`).

channels_redis builds its connection pool without a retry, so the first call after Redis dropped
its connections fails, and a restarted Redis (without persistence) has forgotten every group. The
consumer joins and renews with the retry and backoff of redis-py itself: it is already a dependency
and knows which of its errors are transient, so a second retry library (tenacity, backoff) would
add a package for this one call. When Redis stays unreachable past the budget the caller closes
the socket, and the client resumes from the rows with `since` instead of sitting on a deaf socket.
"""

import logging

from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

# Seven waits of equal-jitter backoff, capped at a sixth of the heartbeat interval: Redis is given
# up on after roughly half to one interval (15-30 s by default), long enough for a restart and short
# enough that a socket is never left without live updates for long (the keepalive renews once per
# interval). Scaling with the interval keeps tests with a short heartbeat fast.
RETRIES = 7


def membership_retry(interval: float) -> Retry:
    return Retry(EqualJitterBackoff(cap=interval / 6, base=interval / 60), RETRIES)


async def join_group(layer, group: str, channel: str, interval: float) -> bool:
    """Add `channel` to `group`; False when Redis stayed unreachable for the whole retry budget."""

    async def attempt():
        await layer.group_add(group, channel)

    async def failed(error, failures):
        # One warning per socket and outage; with thousands of sockets, every attempt would flood the log.
        logger.log(logging.WARNING if failures == 1 else logging.DEBUG, "could not join %s (attempt %d): %s",
                   group, failures, error)

    try:
        await membership_retry(interval).call_with_retry(attempt, failed, with_failure_count=True)
    except (RedisConnectionError, RedisTimeoutError):  # what Retry retries; anything else is a bug
        logger.error("gave up joining %s: Redis unreachable", group)
        return False
    return True
