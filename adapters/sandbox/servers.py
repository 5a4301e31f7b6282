"""Loopback servers speaking the subset of X API v2 and the Graph API the adapters use,
each with the control API under /_sandbox. Response shapes follow the platforms'
documentation (see each module)."""

from adapters.sandbox.graph_server import graph_app
from adapters.sandbox.x_server import x_app

__all__ = ["graph_app", "x_app"]
