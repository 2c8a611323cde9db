from delivery.providers.apns.transport import APNsProvider

__all__ = ["APNsProvider"]
