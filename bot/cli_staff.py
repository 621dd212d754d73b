"""`gridbot staff add|list|passwd`: who is a grid manager, a supervisor or an admin, and their dashboard password."""

from __future__ import annotations

import sys

import typer

from bot.bootstrap import build_engine
from bot.cli_common import fail_cleanly, settings
from bot.web.auth import MIN_PASSWORD_CHARS, hash_password
from handlers.context import utc_now
from handlers.types import Role
from storage.dashboard import WebAuth
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


def _find_one(uow: UnitOfWork, who: str) -> Staff:
    found = WebAuth(uow.session).staff_named(who.strip())
    if len(found) != 1:
        problem = "no active staff member" if not found else f"{len(found)} staff members"
        raise typer.BadParameter(f"{problem} answer to {who!r}; use platform:user_id, e.g. telegram:900001",
                                 param_hint="WHO")
    return found[0]


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = typer.prompt("New password", hide_input=True)
    if typer.prompt("Repeat it", hide_input=True) != first:
        raise typer.BadParameter("the two passwords differ", param_hint="password")
    return str(first)


@app.command("passwd")
def passwd(
    who: str = typer.Argument(..., help="platform:user_id (telegram:900001), the user id, or the name."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from the first line "
                                        "of standard input instead of prompting (for scripts)."),
    clear: bool = typer.Option(False, "--clear", help="Remove the password: sign-in by /login link only."),
) -> None:
    """Set the dashboard (工作看板) password of a staff member, asked twice without echo."""
    with fail_cleanly(), UnitOfWork(build_engine(settings())) as uow:
        person = _find_one(uow, who)
        hashed = None
        if not clear:
            password = _read_password(password_stdin)
            if len(password) < MIN_PASSWORD_CHARS:
                raise typer.BadParameter(f"use at least {MIN_PASSWORD_CHARS} characters", param_hint="password")
            hashed = hash_password(password)
        WebAuth(uow.session).set_password(person.id or 0, hashed)
        uow.commit()
    state = "removed" if clear else "set"
    typer.echo(f"dashboard password {state} for staff {person.id}: {person.name} ({person.platform}:{person.user_id})")
