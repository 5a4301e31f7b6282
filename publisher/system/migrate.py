"""Schema changes go through Alembic; `publisher db upgrade` runs them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    if database_url.startswith("sqlite:///"):
        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)


def missing_revisions(engine: Engine) -> list[str]:
    """The migrations this database has not had (empty: at head)."""
    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    if current >= set(script.get_heads()):
        return []
    heads, base = script.get_heads(), tuple(current) or None
    return [r.revision for r in script.iterate_revisions(heads, base)]


def revision(database_url: str, message: str) -> None:
    """Autogenerate a migration from the models (for developers)."""
    command.revision(alembic_config(database_url), message=message, autogenerate=True)
