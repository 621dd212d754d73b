"""`gridbot tickets list|show`: read the tickets, as a table or as JSON."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from bot.bootstrap import build_engine
from bot.cli_common import fail_cleanly, settings
from handlers.privacy import mask_text
from storage.models import Ticket
from storage.uow import UnitOfWork

app = typer.Typer(help="Appeal tickets.", no_args_is_help=True)
STATUSES = ("new", "accepted", "in_progress", "waiting_customer", "resolved", "closed", "reopened",
            "merged", "cancelled")


def ticket_dict(ticket: Ticket) -> dict[str, Any]:
    return {key: (value.isoformat() if hasattr(value, "isoformat") else value)
            for key, value in ticket.model_dump().items()} | {"number": ticket.id}


@app.command("list")
def list_(
    status: str = typer.Option("", help=" | ".join(STATUSES)),
    as_json: bool = typer.Option(False, "--json", help="One JSON array."),
) -> None:
    """List tickets, newest first."""
    if status and status not in STATUSES:
        raise typer.BadParameter(f"expected one of {', '.join(STATUSES)}", param_hint="--status")
    cfg = settings()
    with fail_cleanly(), UnitOfWork(build_engine(cfg)) as uow:
        rows = uow.tickets.list(status=status or None, limit=10_000)
        if as_json:
            typer.echo(json.dumps([ticket_dict(t) for t in rows], ensure_ascii=False, indent=1))
            return
        table = Table("No.", "kind", "status", "customer", f"opened ({cfg.timezone})")
        table.add_column("text", overflow="fold")
        for t in rows:
            opened = f"{t.opened_at.astimezone(cfg.tz):%Y-%m-%d %H:%M}"
            table.add_row(str(t.id), t.kind, t.status, t.sender_name, opened, mask_text(t.text[:40]))
        Console().print(table)


@app.command("show")
def show(number: int, as_json: bool = typer.Option(False, "--json")) -> None:
    """One ticket with its clocks and event log."""
    with fail_cleanly(), UnitOfWork(build_engine(settings())) as uow:
        ticket = uow.tickets.get(number)
        if ticket is None:
            typer.echo(f"gridbot: no ticket {number}", err=True)
            raise typer.Exit(1)
        clocks = [{"name": c.name, "due_at": c.due_at.isoformat(),
                   "met_at": c.met_at.isoformat() if c.met_at else None} for c in uow.tickets.clocks(number)]
        events = [{"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "note": e.note}
                  for e in uow.tickets.events(number)]
        record = ticket_dict(ticket) | {"clocks": clocks, "events": events}
        if as_json:
            typer.echo(json.dumps(record, ensure_ascii=False, indent=1))
            return
        for key, value in record.items():
            if key not in ("clocks", "events"):
                typer.echo(f"{key:>26}: {value}")
        for clock in clocks:
            typer.echo(f"{'clock ' + str(clock['name']):>26}: due {clock['due_at']}  met {clock['met_at']}")
        for event in events:
            typer.echo(f"{event['at']:>26}  {event['actor']}  {event['action']}  {event['note'][:60]}")
