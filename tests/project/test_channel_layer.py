"""gyana.channel_layer: a receiver on the Redis channel layer (a consumer in daphne)
waits through a Redis outage instead of failing, against a redis-server of the test's own."""

import asyncio

import pytest

from gyana.channel_layer import RedisChannelLayer
from tests.support.redis_process import own_redis_server


@pytest.fixture
def redis_server(tmp_path):
    with own_redis_server(tmp_path) as server:
        yield server


@pytest.mark.parametrize("channel_kind", ["process-local", "named"])  # a consumer's, a worker's
async def test_receive_waits_through_a_restart_and_gets_the_next_message(redis_server, channel_kind):
    layer = RedisChannelLayer(hosts=[{"address": redis_server.url, "socket_timeout": 10}])
    channel = await layer.new_channel() if channel_kind == "process-local" else "integration-setup"
    receiving = asyncio.ensure_future(layer.receive(channel))
    try:
        await asyncio.sleep(0.3)  # blocked in BZPOPMIN on Redis
        redis_server.stop()
        await asyncio.sleep(1.5)  # several failed attempts
        assert not receiving.done(), receiving
        redis_server.start()
        await layer.send(channel, {"type": "after.restart"})
        async with asyncio.timeout(15):
            assert await receiving == {"type": "after.restart"}
    finally:
        receiving.cancel()
        await layer.close_pools()


async def test_receive_is_cancelled_promptly_while_redis_is_away(redis_server):
    layer = RedisChannelLayer(hosts=[{"address": redis_server.url, "socket_timeout": 10}])
    receiving = asyncio.ensure_future(layer.receive(await layer.new_channel()))
    await asyncio.sleep(0.3)
    redis_server.stop()
    await asyncio.sleep(0.5)
    receiving.cancel()  # a consumer whose socket closed, a worker that stops
    async with asyncio.timeout(2):
        with pytest.raises(asyncio.CancelledError):
            await receiving
