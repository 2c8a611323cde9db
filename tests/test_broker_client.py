"""Publishing a task reuses one redis-py client (config/broker.py).

kombu's Redis transport made a ``redis.Redis`` per published message, about 0.5 ms of CPU
each, twice per request that records events."""

import uuid

import pytest
import redis

from config.celery import app as celery_app


@pytest.fixture
def real_broker():
    conf = celery_app.conf
    if not conf.broker_url.startswith("redis://"):
        pytest.skip("the Redis broker is what config/broker.py changes")
    saved = conf.task_always_eager
    conf.task_always_eager = False
    yield
    conf.task_always_eager = saved


def test_publishing_makes_no_redis_client_per_message(real_broker, monkeypatch):
    queue = f"test-broker-client-{uuid.uuid4().hex}"  # nobody consumes it; deleted below
    made = []
    original = redis.Redis.__init__

    def counted(self, *args, **kwargs):
        made.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    try:
        celery_app.send_task("tests.nothing", args=[[1]], queue=queue)
        made.clear()
        for _ in range(5):
            celery_app.send_task("tests.nothing", args=[[1]], queue=queue)
        assert made == []
        with celery_app.connection_for_write() as connection:
            client = connection.default_channel.client
            assert client.llen(queue) == 6  # every message arrived
    finally:
        with celery_app.connection_for_write() as connection:
            connection.default_channel.client.delete(queue)
