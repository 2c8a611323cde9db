from segments.models.access import ApiKey, Site
from segments.models.audience import Device, Event, Profile, PropertyDefinition
from segments.models.imports import ProfileImport
from segments.models.rollup import EventDay, EventRollup
from segments.models.segments import Segment

__all__ = [
    "ApiKey",
    "Device",
    "Event",
    "EventDay",
    "EventRollup",
    "Profile",
    "ProfileImport",
    "PropertyDefinition",
    "Segment",
    "Site",
]
