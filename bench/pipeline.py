"""Throughput and latency of the whole Telegram pipeline, next to a no-op baseline in the same process run.

    .venv/bin/python bench/pipeline.py [--n 2000] [--groups 40] [--seed 1] [--paced 500] [--rate 100]

Two set-ups, each with its own in-process sandbox (bot/sandbox), get the same messages in the same order
through the sandbox's batch control route: group chat (~92%), appeals (~5%, each from a new customer,
dealt round-robin over the groups), commands (~1%: /my, /help, /start) and staff talk (~2%).

* baseline: the PTB Application of ``bot.telegram_channel.build_application`` with our ingress
  (``UpdateProcessor`` + ``Poller``, ack-after-store), but one no-op ``TypeHandler`` instead of the
  adapter. A message's effect is the handler being called.
* full: the real service, ``bot.service.serve(settings, sandbox=True)``: PTB → TelegramAdapter → core
  (handlers/router.py: classifier, extraction, tickets, outbox) → SQLite (fresh, migrated, one staff
  member), replies going out through PTB's rate limiter. A message's effect is its update finished by
  the ingress (``UpdateProcessor.process`` returned): whatever the core changed is committed by then
  (``inbound_message.received_at`` of appeals is stamped by the core before that transaction; the paced
  latency to it is printed too).

Phases of each set-up, after a warm-up in a group of its own (jieba, SQLite pages, HTTP pools):

1. live burst (the headline figure, as the issue defines it): all N messages are posted as fast as the
   control API takes them while the bot consumes them, ``--window`` messages at a time in arrival order
   with one batch request per group present in the window (so groups interleave in the update queue);
   msgs/s = N / (last effect − first post). The feeder shares the event loop, so the baseline's figure
   is bound by posting (its queue never grows): the ratio compares the per-message cost of
   "post + PTB + no-op" with "post + PTB + the real work".
2. backlog drain: the same mix again, posted while the bot's getUpdates is held (a sandbox ``delay``
   fault), then drained; msgs/s from the sandbox's answer to the held call to the last effect. No feeder
   competes, so this is the capacity of each set-up (the backlog after an outage or a restart).
3. paced: ``--paced`` messages at ``--rate`` msgs/s on a fixed schedule, one request each (open loop).
   Latency runs from each message's *scheduled* time (a late post counts against the pipeline: no
   coordinated omission) to its effect; p50/p99 of this phase are the latency figures. A burst's latency
   is only the length of its queue, printed for information.

Telegram's dates have one-second resolution, so all times are the bench's own ``time.time()``. Telegram's
flood limits (30 msgs/s overall, 20/min per group) are raised for both set-ups unless ``--telegram-limits``
is given: they cap the replies, not the pipeline, and would dominate bursts that open ~100 tickets in a
few seconds. The per-chat window of bot/rate_limiter.py (3/s in a group) is not configurable; spreading
the appeals over the groups keeps it from binding. The sandbox, the feeder and the bot share one process
and one event loop, as in ``gridbot run --sandbox``; that is why both set-ups run in one process run and
the ratio is the figure to compare across runs on a noisy machine. The run ends with one JSON line;
the exit status is 1 when the run could not complete (the JSON line then carries "error").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import logging
import math
import random
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlmodel import select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.bootstrap import grid_manager, load_classifier, prepare_database
from bot.sandbox import SandboxClient
from bot.service import SANDBOX_TOKEN, Running, serve, start_sandbox
from bot.telegram_channel import build_application
from bot.telegram_ingress import Poller, UpdateProcessor
from config.settings import HttpSettings, Settings, TelegramSettings, load_settings
from handlers.types import Kind
from storage.db import make_engine
from storage.models import InboundMessage, Ticket
from storage.uow import UnitOfWork

Key = tuple[str, str]  # (chat_id, message_id) as the core stores them

TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0
HOLD_S = 3.0  # how long the backlog phase holds getUpdates while it fills the queue
RAISED_LIMIT = 100_000  # overall per second and per group per minute, when Telegram's are lifted
MANAGER = 900_001  # staff (grid manager) in every group
FIRST_CHATTER, FIRST_CUSTOMER = 200_001, 500_001

CHAT_LINES: tuple[str, ...] = (
    "谢谢", "收到", "好的师傅", "收到，谢谢", "👍👍", "早上好呀", "大家晚上好", "[玫瑰][玫瑰][玫瑰]", "哈哈哈",
    "好嘞", "知道了，谢谢", "已阅", "今天天气真好", "下雨了，大家出门带伞", "谁家孩子在放炮，吓我一跳",
    "中午吃啥", "今天去镇上赶集了", "孙女会叫奶奶了，开心", "恭喜发财", "今年的玉米长得不错",
    "村口那家面馆挺好吃的", "电视坏了，明天去修", "哈哈哈哈，笑死我了", "我儿子在外地打工，过年才回来",
    "欢迎新朋友", "谢谢提醒", "收到，辛苦了", "都注意安全啊", "🙏🙏", "收到收到，谢谢通知", "最近菜价又涨了",
    "大家有没有好用的血压计推荐", "早睡早起身体好", "晚上一起吃饭啊", "今天去医院复查，一切正常",
    "我家孩子说长大了要当电工，哈哈", "大家都吃了没", "1号楼的快递到了", "好的，明白了，谢谢经理", "在吗",
    "收到，马上转告家里人", "昨晚停电，我们一家人在院子里乘凉聊天，挺好", "晚上来我家打牌",
    "这两天降温了，大家多穿点", "[呲牙]", "我看了通知，不是我们组", "节日快乐！",
    "老公说我比电还厉害，一看就知道他偷吃零食了😂", "这电视剧太好看了，一口气看完了，明天还要早起去地里",
)
APPEAL_LINES: tuple[str, ...] = (
    "家里停电了快来人看看", "停电了快来人", "下大雨打雷之后就没电了，邻居家也没有", "刚才打雷，我家的电就没了",
    "屋里的灯全灭了，外面路灯也不亮", "家里没电了，电话13512345678，在幸福村5组",
    "一个月停了好几次电，反映了也没人管", "停电不通知，我家冰箱里的东西全坏了，谁来赔",
    "抄表员根本不来抄，瞎估电费，投诉！", "大家注意，有人冒充国家电网发短信，让点链接退电费，是诈骗",
    "那个电焊铺私接了路灯的电，一到晚上就开工", "你们这个通知太晚了", "停电时间太长了，一停一整天",
    "希望以后抢修能给个预计来电时间", "建议你们搞个电话提醒，老年人看不到手机消息",
    "表扬一下台区经理小王，服务态度特别好", "电费交了怎么还显示欠费？", "停电检修要多长时间",
    "请问现在居民电价是多少", "电表上红灯一直闪是什么情况", "房子过户了，电费户名也要过户",
    "我要开个加工厂，需要装动力电", "电表不准，用电量跟实际对不上，请来检测一下",
)
STAFF_LINES: tuple[str, ...] = ("大家好，明天上午9点到11点计划检修，请提前做好准备", "收到，马上安排",
                                "已经通知抢修班了", "各位注意用电安全")
COMMAND_LINES: tuple[str, ...] = ("/my", "/my", "/my", "/help", "/start")


# --- the workload ---------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Message:
    group: int  # index into World.chats
    user_id: int
    text: str
    kind: str  # chat | appeal | command | staff


@dataclass
class Workload:
    groups: int
    chatters_per_group: int
    warmup: list[Message] = field(default_factory=list)
    burst: list[Message] = field(default_factory=list)
    backlog: list[Message] = field(default_factory=list)
    paced: list[Message] = field(default_factory=list)
    customers: list[tuple[int, int]] = field(default_factory=list)  # (user_id, group) of appeal senders

    def chatter(self, group: int, k: int) -> int:
        return FIRST_CHATTER + group * self.chatters_per_group + k

    def counts(self, messages: Sequence[Message]) -> dict[str, int]:
        out = {"chat": 0, "appeal": 0, "command": 0, "staff": 0}
        for m in messages:
            out[m.kind] += 1
        return out


def usable_lines(settings: Settings) -> tuple[list[str], list[str]]:
    """Chat lines the current lexicon calls chat, appeal lines it calls appeals (the lexicon evolves)."""
    classifier = load_classifier(settings.lexicon_file)
    chat = [t for t in CHAT_LINES if classifier.classify(t).kind is Kind.NONE]
    appeals = [t for t in APPEAL_LINES if classifier.classify(t).kind is not Kind.NONE]
    dropped = len(CHAT_LINES) - len(chat) + len(APPEAL_LINES) - len(appeals)
    if dropped:
        print(f"note: {dropped} corpus line(s) left out: the current lexicon classifies them otherwise")
    if len(chat) < 5 or len(appeals) < 3:
        raise RuntimeError("the lexicon no longer tells the bench's chat lines from its appeals; see CHAT_LINES")
    return chat, appeals


def make_workload(n: int, paced: int, groups: int, seed: int, chat: Sequence[str], appeals: Sequence[str],
                  chatters_per_group: int = 40) -> Workload:
    """~5% appeals (each from a new customer, dealt round-robin over the groups so no group's reply
    limits bind), ~1% commands, ~2% staff talk, the rest chat; non-appeals land on random groups.
    40 chatters per group keep each person's pace human: fewer would trip the flood detection
    (handlers/behaviour.py: more than 8 messages in 10 s), and the bench would measure deletions.
    The warm-up goes to one extra group (index ``groups``) that is not measured."""
    rng = random.Random(seed)
    work = Workload(groups, chatters_per_group)
    order = list(range(groups))
    rng.shuffle(order)
    dealt = 0

    def mix(count: int, only_group: int | None = None) -> list[Message]:
        nonlocal dealt
        n_appeals, n_commands, n_staff = round(count * 0.05), round(count * 0.01), round(count * 0.02)
        kinds = (["appeal"] * n_appeals + ["command"] * n_commands + ["staff"] * n_staff
                 + ["chat"] * (count - n_appeals - n_commands - n_staff))
        rng.shuffle(kinds)
        out: list[Message] = []
        for kind in kinds:
            group = rng.randrange(groups) if only_group is None else only_group
            if kind == "appeal":
                if only_group is None:
                    group, dealt = order[dealt % groups], dealt + 1
                user = FIRST_CUSTOMER + len(work.customers)
                work.customers.append((user, group))
                out.append(Message(group, user, rng.choice(appeals), kind))
            elif kind == "staff":
                out.append(Message(group, MANAGER, rng.choice(STAFF_LINES), kind))
            else:
                sender = work.chatter(group, rng.randrange(chatters_per_group))
                text = rng.choice(COMMAND_LINES if kind == "command" else chat)
                out.append(Message(group, sender, text, kind))
        return out

    work.warmup = mix(max(60, min(200, n // 20)), only_group=groups)
    work.burst = mix(n)
    work.backlog = mix(n)
    work.paced = mix(paced)
    return work


# --- measuring ------------------------------------------------------------------------------------------
class Effects:
    """When each message's effect happened (time.time()), keyed by (chat_id, message_id).

    ``note`` runs on the event loop (baseline handler) or in the core's worker threads (commit hook):
    it only touches dicts and sets (atomic under the GIL) and wakes the waiter thread-safely, so waiting
    for thousands of messages costs the loop nothing while the pipeline runs."""

    def __init__(self) -> None:
        self.at: dict[Key, float] = {}
        self.failure: str | None = None  # set when the pipeline gave up on an update (see Failures)
        self._waiting: set[Key] = set()
        self._all_seen: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def note(self, key: Key, when: float) -> None:
        self.at.setdefault(key, when)
        if key in self._waiting:
            self._waiting.discard(key)
            if not self._waiting and self._all_seen is not None and self._loop is not None:
                self._loop.call_soon_threadsafe(self._all_seen.set)

    def fail(self, reason: str) -> None:
        self.failure = self.failure or reason
        if self._all_seen is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(self._all_seen.set)

    async def wait_for(self, keys: Sequence[Key], timeout: float, what: str) -> None:
        self._loop, self._all_seen = asyncio.get_running_loop(), asyncio.Event()
        self._waiting = set(keys)
        self._waiting.difference_update(list(self.at))
        try:
            if self._waiting and self.failure is None:
                await asyncio.wait_for(self._all_seen.wait(), timeout)
        except TimeoutError:
            missing = sum(1 for k in keys if k not in self.at)
            raise TimeoutError(f"{what}: {missing} of {len(keys)} messages had no effect after {timeout:.0f} s") \
                from None
        finally:
            self._waiting, self._all_seen = set(), None
        if self.failure is not None:
            raise RuntimeError(f"{what}: the pipeline gave up on an update: {self.failure}")


class Failures(logging.Handler):
    """Stops the wait as soon as the ingress parks an update (three failed attempts), naming the cause."""

    def __init__(self, effects: Effects) -> None:
        super().__init__(logging.ERROR)
        self.effects = effects
        self.first_error: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("bot."):
            return
        message = record.getMessage()
        self.first_error = self.first_error or message[:500]
        if "park" in message:
            self.effects.fail(f"{message} (first error: {self.first_error})")


@contextlib.contextmanager
def watching_failures(effects: Effects) -> Iterator[None]:
    handler = Failures(effects)
    logging.getLogger().addHandler(handler)
    try:
        yield
    finally:
        logging.getLogger().removeHandler(handler)


@dataclass(frozen=True, slots=True)
class Posted:
    key: Key
    at: float  # burst: just before its batch request; paced: its scheduled time
    kind: str


@dataclass
class Phase:
    messages: int = 0
    seconds: float = 0.0
    msgs_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    get_updates_calls: int = 0
    fed_s: float = 0.0  # when the last message had been posted, from the first post
    slowest: list[tuple[float, str]] = field(default_factory=list)  # (ms, kind) of the 5 slowest


@dataclass
class RunResult:
    live: Phase
    backlog: Phase
    paced: Phase
    posted: list[Posted]  # every measured message
    paced_posted: list[Posted]
    received_p50_ms: float | None = None  # paced phase, to inbound_message.received_at (full only)
    received_p99_ms: float | None = None
    tickets: int = 0
    appeals: int = 0
    tickets_matched: int = 0


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]


def measure(posted: Sequence[Posted], effects: Effects, started: float) -> Phase:
    latencies = [(effects.at[p.key] - p.at) * 1000 for p in posted]
    seconds = max(effects.at[p.key] for p in posted) - started
    slowest = sorted(zip(latencies, (p.kind for p in posted), strict=True), reverse=True)[:5]
    return Phase(len(posted), seconds, len(posted) / seconds, percentile(latencies, 50),
                 percentile(latencies, 99), max(latencies), slowest=slowest)


@dataclass
class World:
    """What the bench created in a sandbox: the chat id of each group index, the bot."""

    control: SandboxClient
    bot_id: int
    chats: list[int]


async def build_world(control: SandboxClient, bot_id: int, work: Workload) -> World:
    """Users, the groups (plus the warm-up group) with the bot added as an admin by the manager."""
    everyone = range(work.groups + 1)
    users = [(MANAGER, "李经理")]
    users += [(work.chatter(g, k), f"群友{g}-{k}") for g in everyone for k in range(work.chatters_per_group)]
    users += [(user, f"客户{user - FIRST_CUSTOMER}") for user, _ in work.customers]
    for start in range(0, len(users), 64):
        await asyncio.gather(*(control.add_user(user_id=u, first_name=name) for u, name in users[start:start + 64]))
    members = {g: [work.chatter(g, k) for k in range(work.chatters_per_group)] for g in everyone}
    for user, group in work.customers:
        members[group].append(user)
    chats: list[int] = []
    for g in everyone:
        title = f"幸福村{g + 1}组客户群" if g < work.groups else "预热群"
        chat = (await control.create_group(title, members=[MANAGER, *members[g]], creator=MANAGER))["chat"]["id"]
        await control.add_bot_to_group(chat, bot_id, by=MANAGER, admin=True)
        chats.append(chat)
    return World(control, bot_id, chats)


async def wait_idle(world: World, timeout: float = 60.0, quiet: float = 0.15) -> None:
    """Until the bot has confirmed every update (the ack-after-store poller confirms finished work only)
    and has made no Bot API call for ``quiet`` seconds (its replies are sent after the update finished)."""
    deadline = time.monotonic() + timeout
    seq = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not catch up with its updates and replies")
        if (await world.control.get_bot(world.bot_id))["pending_update_count"]:
            await asyncio.sleep(0.02)
            continue
        fresh = await world.control.calls(since=seq)
        if seq and not fresh:
            return
        seq = max((c["seq"] for c in fresh), default=seq) or 1
        await asyncio.sleep(quiet)


async def post_burst(world: World, messages: Sequence[Message], window: int) -> tuple[float, list[Posted]]:
    """Post in arrival order, ``window`` messages at a time, one batch request per group in the window."""
    posted: list[Posted] = []
    started = time.time()
    for start in range(0, len(messages), window):
        by_group: dict[int, list[Message]] = {}
        for m in messages[start:start + window]:
            by_group.setdefault(m.group, []).append(m)
        for group, batch in by_group.items():
            chat = world.chats[group]
            sent_at = time.time()
            ids = await world.control.post_messages(chat, [{"user_id": m.user_id, "text": m.text} for m in batch])
            posted += [Posted((str(chat), str(i)), sent_at, m.kind) for i, m in zip(ids, batch, strict=True)]
    return started, posted


async def post_paced(world: World, messages: Sequence[Message], rate: float) -> tuple[float, list[Posted]]:
    """One message every 1/rate s on a fixed schedule (open loop), each stamped with its scheduled time."""
    posted: list[Posted] = []
    loop = asyncio.get_running_loop()
    wall0, mono0 = time.time() + 0.05, loop.time() + 0.05
    for i, m in enumerate(messages):
        delay = mono0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        chat = world.chats[m.group]
        [message_id] = await world.control.post_messages(chat, [{"user_id": m.user_id, "text": m.text}])
        posted.append(Posted((str(chat), str(message_id)), wall0 + i / rate, m.kind))
    return wall0, posted


async def call_seq(world: World) -> int:
    """Sequence number of the bot's latest getUpdates call (the sandbox logs every Bot API call)."""
    calls = await world.control.calls(bot_id=world.bot_id, method="getUpdates")
    return max((c["seq"] for c in calls), default=0)


async def live_burst(world: World, effects: Effects, messages: Sequence[Message], args: argparse.Namespace,
                     what: str, profile: cProfile.Profile | None) -> tuple[Phase, list[Posted]]:
    """All messages posted as fast as the control API takes them while the bot consumes them."""
    seq = await call_seq(world)
    if profile is not None:
        profile.enable()
    started, posted = await post_burst(world, messages, args.window)
    fed = time.time() - started
    await effects.wait_for([p.key for p in posted], args.timeout, f"{what} live burst")
    if profile is not None:
        profile.disable()
    phase = measure(posted, effects, started)
    phase.fed_s = fed
    phase.get_updates_calls = len(await world.control.calls(bot_id=world.bot_id, method="getUpdates", since=seq))
    return phase, posted


async def backlog_drain(world: World, effects: Effects, messages: Sequence[Message], kick: Message,
                        args: argparse.Namespace, what: str) -> tuple[Phase, list[Posted]]:
    """The queue is filled while the bot's getUpdates is held (a sandbox "delay" fault), then drained.

    One chat message (``kick``) ends the bot's idle long poll; its next getUpdates takes the fault and
    waits HOLD_S in the sandbox while every message is posted; the drain is timed from the sandbox's
    answer to that held call. HOLD_S stays below PTB's read timeout for getUpdates (5 s)."""
    seq = await call_seq(world)
    await world.control.add_fault("getUpdates", "delay", count=1, delay=HOLD_S)
    _, kicked = await post_burst(world, [kick], 1)
    deadline = time.monotonic() + 5
    while await world.control.faults():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: the bot did not poll again after the kick message")
        await asyncio.sleep(0.002)
    held = time.time()
    _, posted = await post_burst(world, messages, args.window)
    fed = time.time()
    await effects.wait_for([p.key for p in posted + kicked], args.timeout, f"{what} backlog drain")
    polls = await world.control.calls(bot_id=world.bot_id, method="getUpdates", since=seq)
    released = min(c["time"] for c in polls if c["time"] >= held)
    # The messages waited for the hold on purpose: their (queueing) latency counts from the release.
    posted = [Posted(p.key, max(p.at, released), p.kind) for p in posted]
    phase = measure(posted, effects, released)
    phase.fed_s = fed - released  # ≤ 0: the queue was full before the drain began, as intended
    phase.get_updates_calls = sum(1 for c in polls if c["time"] >= released)
    return phase, posted


async def run_phases(world: World, effects: Effects, work: Workload, args: argparse.Namespace, what: str,
                     profile: cProfile.Profile | None = None) -> RunResult:
    _, warm = await post_burst(world, work.warmup, args.window)
    await effects.wait_for([p.key for p in warm], args.timeout, f"{what} warm-up")
    await wait_idle(world)
    live, live_posts = await live_burst(world, effects, work.burst, args, what, profile)
    await wait_idle(world)
    backlog, backlog_posts = await backlog_drain(world, effects, work.backlog, work.warmup[0], args, what)
    await wait_idle(world)
    seq = await call_seq(world)
    started, paced_posts = await post_paced(world, work.paced, args.rate)
    await effects.wait_for([p.key for p in paced_posts], args.timeout, f"{what} paced")
    paced = measure(paced_posts, effects, started)
    paced.get_updates_calls = len(await world.control.calls(bot_id=world.bot_id, method="getUpdates", since=seq))
    await wait_idle(world)
    return RunResult(live, backlog, paced, live_posts + backlog_posts + paced_posts, paced_posts)


# --- the two set-ups ------------------------------------------------------------------------------------
def telegram_settings(args: argparse.Namespace) -> TelegramSettings:
    if args.telegram_limits:
        return TelegramSettings()
    return TelegramSettings(overall_per_second=RAISED_LIMIT, group_per_minute=RAISED_LIMIT)


def _no_database() -> UnitOfWork:
    raise RuntimeError("the baseline has no database (its no-op handler never fails)")


async def run_baseline(work: Workload, args: argparse.Namespace) -> RunResult:
    """The same PTB Application, UpdateProcessor and Poller as the service, with one no-op handler."""
    effects = Effects()

    async def noop(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if message is not None:
            effects.note((str(message.chat_id), str(message.message_id)), time.time())

    sandbox, url = await start_sandbox()
    application = build_application(SANDBOX_TOKEN, f"{url}/bot", telegram_settings(args))
    application.add_handler(TypeHandler(Update, noop))
    poller = Poller(UpdateProcessor(application, _no_database), timeout=10)
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    control = SandboxClient(url)
    try:
        await application.initialize()
        await application.start()
        task = asyncio.create_task(poller.run(stop), name="baseline-poller")
        world = await build_world(control, application.bot.id, work)
        await wait_idle(world)
        return await run_phases(world, effects, work, args, "baseline")
    finally:
        stop.set()
        if task is not None:  # idle in a long poll by now: nothing in flight is lost by cancelling
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await application.stop()
            await application.shutdown()
        await control.aclose()
        await sandbox.stop()


def prepare_settings(directory: Path, args: argparse.Namespace) -> Settings:
    """A fresh, migrated SQLite database with the grid manager as staff (as tests/bot/live.py does)."""
    settings = load_settings(database_url=f"sqlite:///{directory / 'bench.db'}", data_dir=directory,
                             http=HttpSettings(port=0), telegram=telegram_settings(args))
    prepare_database(settings, grid_manager(MANAGER, "李经理"))
    return settings


def noting_finished_updates(processor: UpdateProcessor, effects: Effects) -> None:
    """A message's effect is its update finished: the core has stored whatever it changed (a ticket, an
    outbox row) and the ingress may confirm it. Plain chat stores nothing, so a commit hook would miss it."""
    process = processor.process

    async def timed(update: Update) -> bool:
        done = await process(update)
        message = update.effective_message
        if done and message is not None:
            effects.note((str(message.chat_id), str(message.message_id)), time.time())
        return done

    processor.process = timed  # type: ignore[method-assign]


@contextlib.asynccontextmanager
async def running_service(settings: Settings, effects: Effects) -> AsyncIterator[Running]:
    """serve(sandbox=True) in this loop, as tests/bot/live.py runs it; stopped (and awaited) on exit.

    serve() takes over SIGINT/SIGTERM: Ctrl-C stops the service, and the waits here end at once."""
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def on_ready(running: Running) -> None:
        ready.set_result(running)

    task = asyncio.create_task(serve(settings, sandbox=True, on_ready=on_ready, stop=stop), name="service")
    task.add_done_callback(lambda _: effects.fail("the service stopped (interrupted?)"))
    waiting: set[asyncio.Future[Any]] = {task, ready}
    done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED, timeout=30)
    if task in done:
        task.result()  # start-up failed: raise its error here
    if not done:
        task.cancel()
        raise TimeoutError("the service did not start within 30 s")
    try:
        yield ready.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)


def stored_facts(settings: Settings, keys: set[Key]) -> tuple[dict[Key, datetime], set[Key]]:
    """received_at of the given messages, and which of them opened a ticket."""
    engine = make_engine(settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            rows = uow.session.exec(select(InboundMessage.chat_id, InboundMessage.message_id,
                                           InboundMessage.received_at)).all()
            received = {(c, m): at for c, m, at in rows if (c, m) in keys}
            sources = uow.session.exec(select(Ticket.chat_id, Ticket.source_message_id)).all()
            opened = {(c, m) for c, m in sources if (c, m) in keys}
    finally:
        engine.dispose()
    return received, opened


async def run_full(work: Workload, args: argparse.Namespace) -> RunResult:
    """The real service on the sandbox and a fresh SQLite database."""
    effects = Effects()
    profile = cProfile.Profile() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="gridbot-bench-") as tmp:
        settings = prepare_settings(Path(tmp), args)
        with watching_failures(effects):
            async with running_service(settings, effects) as running:
                assert running.sandbox_url is not None
                noting_finished_updates(running.channel.processor, effects)
                async with SandboxClient(running.sandbox_url) as control:
                    world = await build_world(control, running.channel.application.bot.id, work)
                    await wait_idle(world)
                    result = await run_phases(world, effects, work, args, "full", profile)
        measured = {p.key for p in result.posted}
        received, opened = stored_facts(settings, measured)
    if profile is not None:
        profile.dump_stats(args.profile)
    to_received = [(received[p.key].timestamp() - p.at) * 1000 for p in result.paced_posted if p.key in received]
    if to_received:
        result.received_p50_ms, result.received_p99_ms = percentile(to_received, 50), percentile(to_received, 99)
    appeals = {p.key for p in result.posted if p.kind == "appeal"}
    result.appeals, result.tickets, result.tickets_matched = len(appeals), len(opened), len(opened & appeals)
    return result


# --- report ---------------------------------------------------------------------------------------------
def describe(name: str, run: RunResult, effect: str, rate: float) -> None:
    live, drain, paced = run.live, run.backlog, run.paced
    print(f"{name}:")
    print(f"  live burst     {live.messages} msgs in {live.seconds:.2f} s = {live.msgs_per_s:,.0f} msgs/s (all posted "
          f"after {live.fed_s:.2f} s; {live.get_updates_calls} getUpdates); queueing p50 {live.p50_ms:.0f} ms, "
          f"p99 {live.p99_ms:.0f} ms")
    overlap = f"; WARNING: still posting {drain.fed_s:.2f} s into the drain" if drain.fed_s > 0 else ""
    print(f"  backlog drain  {drain.messages} msgs in {drain.seconds:.2f} s = {drain.msgs_per_s:,.0f} msgs/s "
          f"({drain.get_updates_calls} getUpdates){overlap}")
    slowest = ", ".join(f"{ms:.0f} {kind}" for ms, kind in paced.slowest)
    print(f"  paced          {paced.messages} msgs at {rate:g}/s: latency p50 {paced.p50_ms:.1f} ms, "
          f"p99 {paced.p99_ms:.1f} ms (scheduled post → {effect}); slowest ms: {slowest}")


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    chat, appeals = usable_lines(load_settings(database_url="sqlite://"))
    work = make_workload(args.n, args.paced, args.groups, args.seed, chat, appeals)
    mix = work.counts(work.burst)
    print(f"pipeline bench: n={args.n} over {args.groups} groups (seed {args.seed}): {mix['chat']} chat, "
          f"{mix['appeal']} appeals, {mix['command']} commands, {mix['staff']} staff talk; posted {args.window} "
          f"at a time (one batch request per group); the same mix again as a backlog, then {args.paced} "
          f"paced at {args.rate:g}/s; warm-up {len(work.warmup)} in its own group")
    if args.telegram_limits:
        print("flood limits: Telegram's (30 msgs/s overall, 20/min per group)")
    else:
        print(f"flood limits raised for the bench to {RAISED_LIMIT:,}/s overall and {RAISED_LIMIT:,}/min per "
              "group (Telegram: 30/s, 20/min; --telegram-limits keeps them)")
    started = time.monotonic()
    baseline = await run_baseline(work, args)
    describe("baseline (same PTB Application + UpdateProcessor/Poller, one no-op TypeHandler)", baseline,
             "handler called", args.rate)
    full = await run_full(work, args)
    describe("full (serve(sandbox=True): PTB → TelegramAdapter → core → SQLite)", full,
             "update finished", args.rate)
    if full.received_p99_ms is not None:
        print(f"  paced, to inbound_message.received_at instead (stamped before the transaction): "
              f"p50 {full.received_p50_ms:.1f} ms, p99 {full.received_p99_ms:.1f} ms")
    print(f"  tickets opened {full.tickets} for {full.appeals} appeals sent ({full.tickets_matched} of them by "
          "exactly those messages)")
    if args.profile:
        print(f"  cProfile of the event-loop thread during the full live burst: {args.profile}")
    ratio = full.live.msgs_per_s / baseline.live.msgs_per_s
    drain_ratio = full.backlog.msgs_per_s / baseline.backlog.msgs_per_s
    tickets_ok = full.tickets == full.appeals == full.tickets_matched
    met = ratio >= TARGET_RATIO and full.paced.p99_ms < TARGET_P99_MS and tickets_ok
    print(f"full/baseline: live {ratio:.2f} (target ≥ {TARGET_RATIO}), backlog drain {drain_ratio:.2f}; "
          f"paced p99 {full.paced.p99_ms:.1f} ms (target < {TARGET_P99_MS:g} ms); tickets "
          f"{'match' if tickets_ok else 'DO NOT match'} → targets {'met' if met else 'NOT met'} "
          f"({time.monotonic() - started:.0f} s)")
    return {
        "bench": "pipeline", "n": args.n, "groups": args.groups, "seed": args.seed, "window": args.window,
        "baseline_msgs_per_s": round(baseline.live.msgs_per_s, 1), "full_msgs_per_s": round(full.live.msgs_per_s, 1),
        "ratio": round(ratio, 3),
        "p50_ms": round(full.paced.p50_ms, 2), "p99_ms": round(full.paced.p99_ms, 2),
        "baseline_p50_ms": round(baseline.paced.p50_ms, 2), "baseline_p99_ms": round(baseline.paced.p99_ms, 2),
        "drain_baseline_msgs_per_s": round(baseline.backlog.msgs_per_s, 1),
        "drain_full_msgs_per_s": round(full.backlog.msgs_per_s, 1), "drain_ratio": round(drain_ratio, 3),
        "live_burst_p99_ms": round(full.live.p99_ms, 1), "paced": args.paced, "rate": args.rate,
        "tickets": full.tickets, "appeals": full.appeals,
        "limits": "telegram" if args.telegram_limits else "raised",
        "target_ratio": TARGET_RATIO, "target_p99_ms": TARGET_P99_MS, "met": met,
    }


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=2000, help="messages in the burst (default 2000)")
    parser.add_argument("--groups", type=int, default=40, help="customer groups (default 40)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--paced", type=int, default=500, help="messages in the latency phase (default 500)")
    parser.add_argument("--rate", type=float, default=100.0, help="messages/s in the latency phase (default 100)")
    parser.add_argument("--window", type=int, default=100,
                        help="burst messages interleaved per posting round (one request per group; default 100)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for a phase's effects")
    parser.add_argument("--telegram-limits", action="store_true",
                        help="keep Telegram's flood limits (30/s overall, 20/min per group) for the replies")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the event-loop thread during the full burst")
    args = parser.parse_args(argv)
    if args.n < 100 or args.groups < 1 or args.paced < 20 or args.rate <= 0 or args.window < 1:
        parser.error("need --n ≥ 100, --groups ≥ 1, --paced ≥ 20, --rate > 0, --window ≥ 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        result = asyncio.run(bench(args))
    except Exception as exc:  # any failure still ends with the one JSON line (the traceback on stderr)
        traceback.print_exc()
        print(json.dumps({"bench": "pipeline", "n": args.n, "error": f"{type(exc).__name__}: {exc}",
                          "met": False}, ensure_ascii=False))
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
