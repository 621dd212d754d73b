"""`gridbot staff add|list`: who is a grid manager, a supervisor or an admin."""

from __future__ import annotations

import typer

from bot.bootstrap import build_engine
from bot.cli_common import fail_cleanly, settings
from handlers.context import utc_now
from handlers.types import Role
from storage.models import Staff
from storage.uow import UnitOfWork

app = typer.Typer(help="Station staff.", no_args_is_help=True)
STAFF_ROLES = [role.value for role in Role if role.is_staff]
GRADES = ["高级", "中级", "初级"]


@app.command("add")
def add(
    platform: str = typer.Option(..., help="telegram or wecom"),
    user_id: str = typer.Option(..., "--user-id", help="The person's user id on that platform."),
    role: str = typer.Option(..., help=" | ".join(STAFF_ROLES)),
    name: str = typer.Option(..., help="Name shown to customers."),
    grade: str = typer.Option("", help="高级 | 中级 | 初级"),
) -> None:
    """Add or update a staff member."""
    if platform not in ("telegram", "wecom"):
        raise typer.BadParameter("expected telegram or wecom", param_hint="--platform")
    if role not in STAFF_ROLES:
        raise typer.BadParameter(f"expected one of {', '.join(STAFF_ROLES)}", param_hint="--role")
    if grade and grade not in GRADES:
        raise typer.BadParameter(f"expected one of {', '.join(GRADES)}", param_hint="--grade")
    if not user_id.strip() or not name.strip():
        raise typer.BadParameter("must not be empty", param_hint="--user-id/--name")
    with fail_cleanly(), UnitOfWork(build_engine(settings())) as uow:
        saved = uow.staff.upsert(Staff(platform=platform, user_id=user_id.strip(), name=name.strip(),
                                       role=role, grade=grade or None, created_at=utc_now()))
        uow.commit()
        typer.echo(f"staff {saved.id}: {saved.name} ({saved.role}) on {saved.platform} as {saved.user_id}")


@app.command("list")
def list_() -> None:
    """List staff."""
    with fail_cleanly(), UnitOfWork(build_engine(settings())) as uow:
        for person in uow.staff.all():
            state = "" if person.active else " (inactive)"
            typer.echo(f"{person.id}\t{person.platform}\t{person.user_id}\t{person.role}\t{person.name}{state}")
