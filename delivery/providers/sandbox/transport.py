"""A provider that sends nothing, like Django's locmem email backend.

It is the default in the embedded run mode until credentials are set, so campaigns can be
seen flowing, and tests of the pipeline use it to make some sends fail on purpose.
"""

import hashlib
import logging

from delivery.providers.base import Outcome, Provider, Result, answer_for_code

log = logging.getLogger(__name__)


class SandboxProvider(Provider):
    name = "sandbox"

    def __init__(self, *, fail_share=0.0, fail_codes=("dispatch_failed",)):
        """``fail_share`` of the devices (0 to 1) get one of ``fail_codes`` instead of being sent.
        Which devices, and which code each gets, depends only on the device id, so a test
        sees the same failures on every run and a retried device fails the same way."""
        if not 0 <= fail_share <= 1:
            raise ValueError("fail_share must be between 0 and 1")
        if fail_share and not fail_codes:
            raise ValueError("fail_codes must name at least one code")
        self.fail_share = fail_share
        self.fail_codes = tuple(fail_codes)
        self.sent = []  # the pushes it would have delivered, in order

    def failure_code(self, device_id):
        digest = hashlib.sha256(f"sandbox:{device_id}".encode()).digest()
        if int.from_bytes(digest[:8], "big") / 2**64 >= self.fail_share:
            return None
        return self.fail_codes[digest[8] % len(self.fail_codes)]

    async def send_many(self, pushes):
        return [self.send_one(push) for push in pushes]

    def send_one(self, push):
        code = self.failure_code(push.device_id)
        if code:
            answer = answer_for_code(code)
            log.info("sandbox: device %s fails with %s", push.device_id, code)
            return Result(push.device_id, answer.outcome, code=code, retire_device=answer.retire_device)
        self.sent.append(push)
        # The payload's title only: addresses and keys stay out of logs.
        log.info("sandbox: would send %r to device %s", push.payload.get("title", ""), push.device_id)
        return Result(push.device_id, Outcome.SENT)
