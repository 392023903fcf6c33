"""Alembic environment for the hunt store: always run programmatically by ``Store.migrate()``, which
hands over an open connection (``config.attributes["connection"]``) inside its own transaction."""

from __future__ import annotations

from alembic import context

from lurelens.store.schema import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reachable through the alembic command line
    raise SystemExit("run the store's migrations with lurelens.store.Store(url).migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
)
with context.begin_transaction():
    context.run_migrations()
