"""Alembic environment: migrations run on a connection handed in by storage.migrate."""

from alembic import context
from sqlmodel import SQLModel

import storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)

target_metadata = SQLModel.metadata
# APScheduler's job store table is created by a migration but is not a model: autogenerate must not drop it.
FOREIGN_TABLES = frozenset({"apscheduler_jobs"})


def include_name(name, type_, parent_names):
    return not (type_ == "table" and name in FOREIGN_TABLES)


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `gridbot db upgrade`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=target_metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
    compare_type=True,
    include_name=include_name,
)
with context.begin_transaction():
    context.run_migrations()
