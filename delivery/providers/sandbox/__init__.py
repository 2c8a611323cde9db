from delivery.providers.sandbox.transport import SandboxProvider

__all__ = ["SandboxProvider"]
