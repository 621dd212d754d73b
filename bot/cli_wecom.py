"""`gridbot wecom …`: feed archived customer-group messages in, reconcile groups, see the channel's state."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlmodel import col, func, select

from bot.bootstrap import build_context, build_engine
from bot.cli_common import fail_cleanly, settings
from bot.wecom_callback import Refused, parse_archive
from storage.models import WecomCallback, WecomGroupMessage

app = typer.Typer(help="The WeCom (企业微信) channel.", no_args_is_help=True)


@app.command("ingest")
def ingest(file: Path = typer.Argument(..., help="Decrypted 会话内容存档 records: JSON lines or one JSON array.",
                                       exists=True, dir_okay=False)) -> None:
    """Queue archived customer-group messages; the running service classifies and risk-checks them within a
    minute (a record already queued is skipped, so a file can be fed twice)."""
    with fail_cleanly():
        try:
            records = parse_archive(file.read_text(encoding="utf-8"))
        except Refused as exc:
            typer.echo(f"gridbot: {file}: {exc.reason}", err=True)
            raise typer.Exit(1) from None
        ctx = build_context(settings(), build_engine(settings()))
        new = 0
        with ctx.uow() as uow:
            now = datetime.now(UTC)
            for record in records:
                new += uow.wecom.store_callback(f"archive:{record['msgid']}", "archive", json.dumps(record),
                                                now) is not None
            uow.commit()
        typer.echo(f"{len(records)} records, {new} new, {len(records) - new} already queued")


@app.command("reconcile")
def reconcile() -> None:
    """Fetch every customer group from WeCom (groupchat/list, groupchat/get) and make our records match."""
    from bot.wecom_channel import WecomChannel
    from bot.workers import DatabaseWorkers

    with fail_cleanly():
        cfg = settings()
        cfg.wecom.check()
        ctx = build_context(cfg, build_engine(cfg))

        async def run() -> tuple[int, int]:
            channel = WecomChannel(ctx, cfg.wecom, DatabaseWorkers(1))
            try:
                return await channel.adapter.reconcile()
            finally:
                channel.api.shutdown()

        listed, gone = asyncio.run(run())
        typer.echo(f"{listed} groups fetched, {gone} no longer listed (marked inactive)")


@app.command("status")
def status() -> None:
    """The callback inbox (waiting, failed) and the 群发 tasks owners have not finished."""
    with fail_cleanly():
        cfg = settings()
        ctx = build_context(cfg, build_engine(cfg))
        with ctx.uow() as uow:
            waiting = uow.session.exec(select(func.count()).select_from(WecomCallback)
                                       .where(col(WecomCallback.processed_at).is_(None))).one()
            failing = uow.session.exec(select(WecomCallback).where(col(WecomCallback.processed_at).is_(None))
                                       .where(WecomCallback.error != "").limit(10)).all()
            tasks = uow.session.exec(select(func.count()).select_from(WecomGroupMessage)
                                     .where(col(WecomGroupMessage.done_at).is_(None))).one()
        typer.echo(f"callbacks waiting: {waiting}; 群发 tasks open: {tasks}")
        for row in failing:
            typer.echo(f"  callback {row.id} ({row.kind}), {row.attempts} attempts: {row.error}")
