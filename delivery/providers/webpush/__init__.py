from delivery.providers.webpush.transport import WebPushProvider

__all__ = ["WebPushProvider"]
