"""`gridbot db upgrade|current`: Alembic migrations."""

from __future__ import annotations

import typer

from bot.cli_common import fail_cleanly, settings
from storage.db import make_engine
from storage.migrate import current_revision, head_revision, upgrade

app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_cmd(revision: str = typer.Argument("head")) -> None:
    """Apply migrations (creates the SQLite file if needed)."""
    with fail_cleanly():
        engine = make_engine(settings().database_url)
        upgrade(engine, revision)
        typer.echo(f"database at revision {current_revision(engine)}")


@app.command("current")
def current_cmd() -> None:
    """Show the database's revision and the code's."""
    with fail_cleanly():
        engine = make_engine(settings().database_url)
        typer.echo(f"database: {current_revision(engine)}  code: {head_revision()}")
