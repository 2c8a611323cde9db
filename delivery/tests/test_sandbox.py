"""The sandbox provider: sends nothing, records what it would send, fails on request."""

import asyncio
import logging

import pytest

from delivery.providers.base import Outcome, Push
from delivery.providers.sandbox import SandboxProvider


def pushes(count):
    return [
        Push(
            device_id=i,
            payload={"title": f"Hi {i}"},
            endpoint=f"https://push.example/sub/{i}",
            p256dh="BPublicKeyOfTheBrowser",
            auth="secret-auth-value",
        )
        for i in range(count)
    ]


def test_it_records_what_it_would_send():
    provider = SandboxProvider()
    batch = pushes(3)

    results = provider.send_many_sync(batch)

    assert provider.sent == batch
    assert [(r.device_id, r.outcome, r.code) for r in results] == [(i, Outcome.SENT, "") for i in range(3)]


def test_it_fails_the_asked_share_the_same_way_every_time():
    batch = pushes(1000)

    first = SandboxProvider(fail_share=0.3, fail_codes=["server_issue", "browser_unsubscribed"])
    again = SandboxProvider(fail_share=0.3, fail_codes=["server_issue", "browser_unsubscribed"])
    results, repeated = first.send_many_sync(batch), again.send_many_sync(batch)

    failed = [r for r in results if r.outcome != Outcome.SENT]
    assert 250 <= len(failed) <= 350
    assert results == repeated
    assert {r.code for r in failed} == {"server_issue", "browser_unsubscribed"}
    assert len(first.sent) == 1000 - len(failed)


def test_a_code_keeps_its_meaning():
    provider = SandboxProvider(fail_share=1, fail_codes=["browser_unsubscribed"])
    [gone] = provider.send_many_sync(pushes(1))
    provider = SandboxProvider(fail_share=1, fail_codes=["server_issue"])
    [busy] = provider.send_many_sync(pushes(1))

    assert (gone.outcome, gone.retire_device) == (Outcome.FAILED, True)
    assert (busy.outcome, busy.retire_device) == (Outcome.RETRY, False)


def test_no_share_means_no_failures():
    results = SandboxProvider(fail_share=0, fail_codes=["server_issue"]).send_many_sync(pushes(200))

    assert {r.outcome for r in results} == {Outcome.SENT}


def test_it_refuses_a_share_outside_zero_to_one():
    with pytest.raises(ValueError):
        SandboxProvider(fail_share=1.5)


def test_its_log_line_carries_no_address_or_key(caplog):
    caplog.set_level(logging.INFO)

    SandboxProvider(fail_share=0.5, fail_codes=["server_issue"]).send_many_sync(pushes(10))

    assert "would send 'Hi" in caplog.text
    assert "fails with server_issue" in caplog.text
    for secret in ("push.example", "BPublicKeyOfTheBrowser", "secret-auth-value"):
        assert secret not in caplog.text


def test_send_many_sync_works_inside_a_running_event_loop():
    async def caller():
        return SandboxProvider().send_many_sync(pushes(2))

    assert [r.outcome for r in asyncio.run(caller())] == [Outcome.SENT, Outcome.SENT]
