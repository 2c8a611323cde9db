from delivery.providers.fcm.transport import FcmProvider

__all__ = ["FcmProvider"]
