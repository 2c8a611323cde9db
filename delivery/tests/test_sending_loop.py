"""The send pipeline's event loop (delivery/actions/sending.py): one per process, so a
provider's kept-alive connections outlive a batch."""

import pytest

from delivery import vapid
from delivery.actions import sending
from delivery.actions.dispatches import counts
from delivery.models import DeliverySettings
from delivery.providers.registry import Providers
from delivery.tests.engine import started_dispatch, vapid_key, web_audience
from tests.pushservices.webpush import WebPushService


@pytest.fixture
def service():
    with WebPushService() as running:
        yield running


@pytest.fixture
def key(db):
    return vapid_key()


def web_pool():
    """The web push provider's pool on the pipeline's loop, and its idle connections."""
    provider = Providers(DeliverySettings.load(), vapid.current(), mode="live").for_platform("web")
    client = provider._sessions.get(sending._runner().get_loop())
    return client, [c for idle in (client._idle.values() if client else []) for c in idle]


def test_the_next_batch_sends_over_the_connections_the_last_one_left_open(service, key):
    audience = web_audience(service, 5)
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})

    sending.send_batch(dispatch.pk, size=3)
    first_pool, first_connections = web_pool()
    sending.send_batch(dispatch.pk, size=3)
    second_pool, second_connections = web_pool()

    assert counts(dispatch)["sent"] == 5
    assert first_pool is second_pool and first_connections
    assert set(second_connections) & set(first_connections)  # kept alive, used again


def test_a_pool_left_idle_too_long_is_replaced(service, key, monkeypatch):
    audience = web_audience(service, 2)
    dispatch = started_dispatch([d for d, _ in audience], {"title": "Hello"})
    sending.send_batch(dispatch.pk, size=1)
    first_pool, _ = web_pool()

    monkeypatch.setattr(sending, "POOL_IDLE", -1)  # as if the worker had waited past it
    sending.send_batch(dispatch.pk, size=1)

    assert web_pool()[0] is not first_pool
    assert first_pool.closed
    assert counts(dispatch)["sent"] == 2
