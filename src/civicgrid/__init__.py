"""CivicGrid (网格全响应平台): grid-based grassroots governance."""

__version__ = "0.1.0"
