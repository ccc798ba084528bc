"""smsstreams: a self-hostable SMS platform."""

__version__ = "0.1.0"
