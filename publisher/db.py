"""Alembic's history (publisher/migrations/versions, never edited) names column types as
`publisher.db.UTCDateTime`: the module it was written against answers for them."""

from publisher.core.db import UTCDateTime

__all__ = ["UTCDateTime"]
