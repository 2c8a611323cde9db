"""What to send, to whom and when (DESIGN.md: campaigns owns campaigns, variants, runs)."""

from campaigns.models.campaign import Campaign, Label, Variant
from campaigns.models.forecasts import RunForecast
from campaigns.models.live import LiveTrigger
from campaigns.models.onboarding import PermissionPrompt
from campaigns.models.requests import IdempotencyKey
from campaigns.models.resources import PushResource
from campaigns.models.runs import CampaignRun, ControlMember, TestSend
from campaigns.models.versions import ContentVersion

__all__ = [
    "Campaign",
    "CampaignRun",
    "ContentVersion",
    "ControlMember",
    "IdempotencyKey",
    "Label",
    "LiveTrigger",
    "PermissionPrompt",
    "PushResource",
    "RunForecast",
    "TestSend",
    "Variant",
]
