"""supportbot: self-hosted live-support chat for web shops."""

__version__ = "0.1.0"
