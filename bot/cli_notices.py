"""`gridbot notices create|list|show|cancel|restore`: outage notices (停电通知) and announcements.

The command writes the notice, its phases and the group messages to the database in one transaction. The
running service sends those messages (its outbox sweep picks pending rows up within a minute) and fires the
later phases at their times; nothing is sent while no service runs.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from bot.bootstrap import build_context, build_engine
from bot.cli_common import fail_cleanly, settings
from config.settings import Settings
from handlers import notices as core
from handlers.commands.notices import clean_tag, detail, split_names, summary
from handlers.context import Context, utc_now
from storage.models import Notice
from storage.uow import UnitOfWork

app = typer.Typer(help="Outage notices (停电通知) and announcements.", no_args_is_help=True)


def _moment(value: str, option: str, cfg: Settings, now: datetime) -> datetime:
    if value.strip().lower() in ("now", "现在"):
        return now
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"expected an ISO time such as 2026-12-01T08:00, got {value!r}",
                                 param_hint=option) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=cfg.tz)  # local time, like the chat


def _context(cfg: Settings) -> Context:
    with fail_cleanly():  # an unmigrated database or a wrong setting: one line, not a traceback
        return build_context(cfg, build_engine(cfg))


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def notice_dict(found: Notice) -> dict[str, Any]:
    return {key: _iso(value) for key, value in found.model_dump().items()} | {"number": found.id}


def _find(ctx: Context, uow: UnitOfWork, number: int) -> Notice:
    found = uow.notices.get(number)
    if found is None:
        typer.echo(f"gridbot: {ctx.texts('notice.out.not_found', number=number)}", err=True)
        raise typer.Exit(1)
    return found


def _published(ctx: Context, uow: UnitOfWork, published: core.Published, key: str) -> None:
    uow.commit()
    typer.echo(summary(ctx, uow, published, key))
    typer.echo(ctx.texts("notice.out.cli_sweep", number=published.notice.id))


@app.command("create")
def create(
    kind: str = typer.Option(..., "--type", help=" | ".join(core.KINDS)),
    areas: str = typer.Option("", "--areas", help="台区 names, comma-separated."),
    start: str = typer.Option("", "--start", help="ISO 8601, local time without an offset; now for a fault."),
    end: str = typer.Option("", "--end", help="ISO 8601; left out: until restored."),
    reason: str = typer.Option("", "--reason", help="Why the power is off."),
    contact: str = typer.Option("", "--contact", help="Name and phone shown to customers."),
    lines: str = typer.Option("", "--lines", help="Affected lines, comma-separated."),
    villages: str = typer.Option("", "--villages", help="Affected villages, comma-separated."),
    text: str = typer.Option("", "--text", help="An announcement's words."),
    every: bool = typer.Option(False, "--all", help="An announcement to every active group."),
    tags: str = typer.Option("", "--tags", help="An announcement to the groups tagged so (/tag), comma-separated."),
    stations: str = typer.Option("", "--stations", help="An announcement to every group of these stations."),
) -> None:
    """Publish a notice: the groups bound to its areas hear of it now, reminders follow at their times."""
    if kind not in core.KINDS:
        raise typer.BadParameter(f"expected one of {', '.join(core.KINDS)}", param_hint="--type")
    cfg, now = settings(), utc_now()
    draft = core.Draft(kind, split_names(areas), contact=contact.strip(), lines=split_names(lines),
                       villages=split_names(villages), tags=[t for t in map(clean_tag, split_names(tags)) if t],
                       stations=split_names(stations))
    if kind == "announcement":
        if not text.strip():
            raise typer.BadParameter("an announcement needs its words", param_hint="--text")
        if not (every or draft.areas or draft.tags or draft.stations):
            raise typer.BadParameter("name the areas, --tags or --stations, or --all for every group",
                                     param_hint="--areas")
        draft.text, draft.all_groups = text.strip(), every
    else:
        if draft.tags or draft.stations:
            raise typer.BadParameter("tags and stations are for announcements; an outage names its --areas",
                                     param_hint="--tags/--stations")
        if not draft.areas:
            raise typer.BadParameter("name the affected areas", param_hint="--areas")
        if not start.strip():
            raise typer.BadParameter("an outage needs its start", param_hint="--start")
        if not reason.strip():
            raise typer.BadParameter("an outage needs its reason", param_hint="--reason")
        draft.start_at, draft.reason = _moment(start, "--start", cfg, now), reason.strip()
        draft.end_at = _moment(end, "--end", cfg, now) if end.strip() else None
        if draft.end_at is not None and draft.end_at <= draft.start_at:
            raise typer.BadParameter(f"must be after --start {start}", param_hint="--end")
        if kind != "fault" and draft.start_at <= now:
            raise typer.BadParameter("has passed; an outage already under way is --type fault", param_hint="--start")
    ctx = _context(cfg)
    with fail_cleanly(), ctx.uow() as uow:
        try:
            published = core.create(uow, ctx, draft, None)
        except core.NoticeError as exc:
            typer.echo(f"gridbot: {exc}", err=True)
            raise typer.Exit(1) from None
        _published(ctx, uow, published, "published")


@app.command("list")
def list_(
    active: bool = typer.Option(False, "--active", help="Only the notices still in force."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array."),
) -> None:
    """List notices, newest first."""
    cfg = settings()
    with fail_cleanly(), UnitOfWork(build_engine(cfg)) as uow:
        rows = uow.notices.list(active_only=active, limit=10_000)
    if as_json:
        typer.echo(json.dumps([notice_dict(row) for row in rows], ensure_ascii=False, indent=1))
        return
    table = Table("No.", "type", "status", "areas", f"start ({cfg.timezone})", "end")
    table.add_column("reason / text", overflow="fold")
    for row in rows:
        start, end = (f"{at.astimezone(cfg.tz):%Y-%m-%d %H:%M}" if at else "-" for at in (row.start_at, row.end_at))
        areas = "ALL" if row.all_groups else ",".join(row.areas)
        table.add_row(str(row.id), row.kind, row.status, areas, start, end, (row.reason or row.text)[:40])
    Console().print(table)


@app.command("show")
def show(number: int, as_json: bool = typer.Option(False, "--json", help="One JSON document.")) -> None:
    """One notice with its phases and the delivery report: groups reached, pending, failed and why."""
    ctx = _context(settings())
    with fail_cleanly(), ctx.uow() as uow:
        found = _find(ctx, uow, number)
        if not as_json:
            typer.echo(detail(ctx, uow, found))
            return
        phases = [{"phase": r.phase.phase, "version": r.phase.version, "status": r.phase.status,
                   "due_at": _iso(r.phase.due_at), "fired_at": _iso(r.phase.fired_at), "note": r.phase.note,
                   "groups": r.phase.groups, "sent": r.sent, "pending": r.pending,
                   "failed": [{"group": group, "error": error} for group, error in r.failed],
                   "wecom_owner_confirmed": r.owner_confirmed}
                  for r in core.delivery_report(uow, number)]
        typer.echo(json.dumps(notice_dict(found) | {"phases": phases}, ensure_ascii=False, indent=1))


@app.command("cancel")
def cancel(number: int, reason: str = typer.Option(..., "--reason", help="Why; the groups are told.")) -> None:
    """Cancel a notice: its reminders are dropped and every group that heard of it is told."""
    if not reason.strip():
        raise typer.BadParameter("must not be empty", param_hint="--reason")
    ctx = _context(settings())
    with fail_cleanly(), ctx.uow() as uow:
        try:
            published = core.cancel(uow, ctx, _find(ctx, uow, number), reason.strip())
        except core.NoticeError as exc:
            typer.echo(f"gridbot: {exc}", err=True)
            raise typer.Exit(1) from None
        _published(ctx, uow, published, "cancelled")


@app.command("restore")
def restore(number: int, note: str = typer.Option("", "--note", help="Added to the message.")) -> None:
    """Power is back: every group that heard of the outage is told, the reminders still pending are dropped."""
    ctx = _context(settings())
    with fail_cleanly(), ctx.uow() as uow:
        found = _find(ctx, uow, number)
        try:
            if found.kind not in core.OUTAGE_KINDS:
                raise core.NoticeError(ctx.texts("notice.out.not_outage", number=number))
            published = core.restore(uow, ctx, found, note.strip())
        except core.NoticeError as exc:
            typer.echo(f"gridbot: {exc}", err=True)
            raise typer.Exit(1) from None
        _published(ctx, uow, published, "restored")
