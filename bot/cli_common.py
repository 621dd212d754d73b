"""Shared CLI plumbing: settings, the wired app, and one-line errors instead of tracebacks."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import typer

from config.settings import Settings, SettingsError, load_settings
from handlers.deadlines import DeadlineConfigError
from storage.db import DatabaseUrlError
from storage.migrate import DatabaseNotMigrated

USER_ERRORS = (SettingsError, DatabaseUrlError, DatabaseNotMigrated, DeadlineConfigError, FileNotFoundError)


@contextlib.contextmanager
def fail_cleanly() -> Iterator[None]:
    """A wrong setting or an unmigrated database ends the command with one clear line, exit 2."""
    try:
        yield
    except USER_ERRORS as exc:
        typer.echo(f"gridbot: {exc}", err=True)
        raise typer.Exit(2) from None
    except Exception as exc:  # database unreachable and the like: still one line, plus the log
        logging.getLogger("gridbot").debug("failed", exc_info=True)
        if type(exc).__module__.startswith(("sqlalchemy", "psycopg")):
            typer.echo(f"gridbot: database error: {str(exc).splitlines()[0]}", err=True)
            raise typer.Exit(2) from None
        raise


def settings() -> Settings:
    with fail_cleanly():
        return load_settings()
