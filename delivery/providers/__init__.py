"""How one message reaches one device: one folder per channel behind ``base.Provider``."""
