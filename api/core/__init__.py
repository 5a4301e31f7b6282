"""The core wing's view: API keys (who acts, in which workspace, with which role)."""
