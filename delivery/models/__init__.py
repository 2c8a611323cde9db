"""How one message reaches one device (DESIGN.md: delivery owns messages and global limits)."""

from delivery.models.inbox import InboxItem
from delivery.models.limits import DeliverySettings
from delivery.models.messages import Dispatch, Message, PrunedInboxTally, PrunedTally
from delivery.models.workers import Heartbeat, VapidKey

__all__ = [
    "DeliverySettings",
    "Dispatch",
    "Heartbeat",
    "InboxItem",
    "Message",
    "PrunedInboxTally",
    "PrunedTally",
    "VapidKey",
]
