"""`gridbot sla due`: the promised deadlines of a ticket opened at a given time — the tickets' own computation."""

from __future__ import annotations

import json
from datetime import datetime

import typer

from bot.cli_common import fail_cleanly, settings
from handlers.deadlines import AREA_TYPES, CalendarOutOfRange, DeadlineTable
from handlers.types import Kind

app = typer.Typer(help="Service-level deadlines.", no_args_is_help=True)
KINDS = [k.value for k in Kind if k is not Kind.NONE]


@app.command("due")
def due(
    kind: str = typer.Option(..., "--kind", help=" | ".join(KINDS)),
    area_type: str = typer.Option("rural", "--area-type", help="city | rural | remote"),
    important: bool = typer.Option(False, "--important", help="An important customer (特级/一级/二级)."),
    at: str = typer.Option(..., "--at", help="When the ticket was opened, ISO 8601 (local time if no offset)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Print each clock of a ticket of KIND opened AT, with its due time."""
    if kind not in KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(KINDS)}", param_hint="--kind")
    if area_type not in AREA_TYPES:
        raise typer.BadParameter("expected city, rural or remote", param_hint="--area-type")
    try:
        opened = datetime.fromisoformat(at)
    except ValueError:
        raise typer.BadParameter("expected an ISO time such as 2026-09-30T10:00", param_hint="--at") from None
    with fail_cleanly():
        cfg = settings()
        opened = opened if opened.tzinfo else opened.replace(tzinfo=cfg.tz)
        table = DeadlineTable.from_file(cfg.deadlines_file)
        try:
            clocks = table.clocks(Kind(kind), opened, area_type=area_type, important=important, tz=cfg.tz)
        except CalendarOutOfRange as exc:
            typer.echo(f"gridbot: {exc}", err=True)
            raise typer.Exit(2) from None
    rows = [{"clock": c.name, "duration": f"{c.duration.amount}{c.duration.unit}",
             "due_at": c.due_at.astimezone(cfg.tz).isoformat()} for c in clocks]
    if as_json:
        typer.echo(json.dumps({"kind": kind, "area_type": area_type, "important": important,
                               "opened_at": opened.isoformat(), "clocks": rows}, ensure_ascii=False))
        return
    for row in rows:
        typer.echo(f"{row['clock']:<14} {row['duration']:>6}  due {row['due_at']}")
