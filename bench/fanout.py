"""One outage notice to many groups through the real service and the sandbox, with injected 429 and 5xx.

    .venv/bin/python bench/fanout.py [--groups 1000] [--faults 0.05] [--seed 1] [--limit 30]

The real service (`bot.service.serve(settings, sandbox=True)`: PTB, our rate limiter, the outbox delivery)
runs on a fresh SQLite database. The bench creates the groups in the sandbox with the bot as admin, binds
them all to one area in the database (no /bind chatter), arms a fault for `--faults` of the groups (half
429 with retry_after 1 s, half 502), then publishes one planned notice through the core
(handlers.notices.create) and hands its outbox rows to the delivery, exactly as the /notice command does.

Figures: the achieved send rate (groups reached / seconds from publication to the last group reached)
against the configured overall limit (`--limit`, Telegram's ~30 msgs/s), duplicates (a group that got the
notice more than once) and losses (a group that never got it within the timeout). The limit is the
baseline of the same run: the ratio is the figure to compare across runs. Target: ratio ≥ 0.9, zero
duplicates, zero losses. Ends with one JSON line; exit status 1 when the run could not complete.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bot.bootstrap import grid_manager, prepare_database
from bot.sandbox import SandboxClient
from bot.service import Running, serve
from config.settings import HttpSettings, Settings, TelegramSettings, load_settings
from handlers import notices
from storage.models import ChatGroup

MANAGER = 900001


async def _bench(running: Running, args: argparse.Namespace) -> dict[str, object]:
    assert running.sandbox_url is not None
    rng = random.Random(args.seed)
    control = SandboxClient(running.sandbox_url)
    ctx = running.channel.core
    bot_id = running.channel.application.bot.id
    await control.add_user(user_id=MANAGER, first_name="李经理")
    chats: list[int] = []
    for g in range(args.groups):
        chat = (await control.create_group(f"第{g + 1}村客户群", members=[MANAGER], creator=MANAGER))["chat"]["id"]
        await control.add_bot_to_group(chat, bot_id, by=MANAGER, admin=True)
        chats.append(chat)
    while True:  # the bot greets each group it joins: let that drain before the clock starts
        with ctx.uow() as uow:
            if not uow.outbox.pending("telegram"):
                break
        await asyncio.sleep(0.5)
    with ctx.uow() as uow:
        station = uow.stations.get_or_create(ctx.station_name)
        area = uow.stations.area(station.id or 0, "幸福台区", "rural")
        for chat in chats:
            group: ChatGroup = uow.groups.ensure("telegram", str(chat), "", ctx.clock())
            group.area_id = area.id
            uow.groups.save(group)
        uow.commit()
    faulty = rng.sample(chats, round(len(chats) * args.faults))
    for k, chat in enumerate(faulty):
        if k % 2:
            await control.add_fault("sendMessage", "retry_after", chat_id=chat, retry_after=1)
        else:
            await control.add_fault("sendMessage", "bad_gateway", chat_id=chat)
    before = {chat: len(await control.bot_messages(chat)) for chat in chats}

    started = time.monotonic()
    draft = notices.Draft("planned", ["幸福台区"], ctx.clock() + timedelta(days=8),
                          ctx.clock() + timedelta(days=8, hours=6), "线路检修", "95598")
    with ctx.uow() as uow:
        published = notices.create(uow, ctx, draft, None)
        uow.commit()
    running.channel.adapter.delivery.execute(published.outcome.queued)
    reached: dict[int, float] = {}
    deadline = started + args.timeout
    while len(reached) < len(chats) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        with ctx.uow() as uow:
            rows = uow.notices.outbox_rows(published.phases[0].id or 0)
        now = time.monotonic()
        for row in rows:
            if row.sent_at is not None:
                reached.setdefault(int(row.chat_id), now)
    elapsed = (max(reached.values()) - started) if reached else float("inf")
    copies = Counter({chat: sum("【停电通知】" in m.get("text", "")
                                for m in (await control.bot_messages(chat))[before[chat]:]) for chat in chats})
    await control.aclose()
    rate = len(reached) / elapsed if reached else 0.0
    return {
        "groups": len(chats), "faulty_groups": len(faulty), "reached": len(reached), "seconds": round(elapsed, 2),
        "rate_per_s": round(rate, 2), "limit_per_s": args.limit, "ratio": round(rate / args.limit, 3),
        "duplicates": sum(1 for n in copies.values() if n > 1), "losses": sum(1 for n in copies.values() if n == 0),
    }


def _settings(tmp: Path, limit: float) -> Settings:
    database = tmp / "fanout.db"
    settings = load_settings(database_url=f"sqlite:///{database}", http=HttpSettings(port=0),
                             telegram=TelegramSettings(overall_per_second=limit, welcome=False))
    prepare_database(settings, grid_manager(MANAGER, "李经理"))
    return settings


async def main(args: argparse.Namespace) -> dict[str, object]:
    result: dict[str, object] = {}
    stop = asyncio.Event()
    with tempfile.TemporaryDirectory() as tmp:
        settings = _settings(Path(tmp), args.limit)

        async def on_ready(running: Running) -> None:
            async def run() -> None:
                try:
                    result.update(await _bench(running, args))
                except Exception as exc:  # reported in the JSON line
                    result["error"] = repr(exc)
                finally:
                    stop.set()

            asyncio.get_running_loop().create_task(run())

        await serve(settings, sandbox=True, on_ready=on_ready, stop=stop)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groups", type=int, default=1000)
    parser.add_argument("--faults", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--limit", type=float, default=30.0, help="overall sends per second (Telegram's limit)")
    parser.add_argument("--timeout", type=float, default=180.0)
    logging.basicConfig(level=logging.WARNING)
    figures = asyncio.run(main(parser.parse_args()))
    for key, value in figures.items():
        print(f"{key:>18}: {value}")
    print(json.dumps({"bench": "fanout", **figures}, ensure_ascii=False))
    sys.exit(1 if "error" in figures or figures.get("reached") != figures.get("groups") else 0)
