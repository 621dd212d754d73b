"""The Telegram edge: PTB handlers turn updates into core events; core actions become Bot API calls.

The command table is the core's (handlers/commands/table.py): every command there is registered here
and announced with setMyCommands, so Telegram and the core never disagree about what exists.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from telegram import BotCommand, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import telegram_convert as convert
from bot.logs import add_to_log_context
from bot.telegram_delivery import TelegramDelivery
from bot.workers import DatabaseWorkers
from handlers import router
from handlers.commands.table import COMMANDS
from handlers.context import Context
from handlers.types import Outcome, Queued

log = logging.getLogger(__name__)
Ctx = ContextTypes.DEFAULT_TYPE


class TelegramAdapter:
    def __init__(self, core: Context, application: Application, workers: DatabaseWorkers, *,
                 welcome: bool = True) -> None:
        self.core, self.workers = core, workers
        self.welcome = welcome
        self.delivery = TelegramDelivery(application.bot, core, workers)
        # Where the core's queued actions go: this channel's delivery, or (set by the service) every channel's,
        # so a Telegram message that alerts a WeCom manager reaches them at once.
        self.deliver: Callable[[list[Queued]], None] = self.delivery.execute
        self.register(application)

    def register(self, application: Application) -> None:
        """Every handler the bot has, in one place."""
        text_updates = filters.UpdateType.MESSAGE
        application.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, self.on_migrate))
        application.add_handler(MessageHandler(
            filters.StatusUpdate.NEW_CHAT_MEMBERS | filters.StatusUpdate.LEFT_CHAT_MEMBER, self.on_members))
        for command in COMMANDS:
            application.add_handler(CommandHandler(command.name, self.on_text, filters=text_updates))
        application.add_handler(MessageHandler(
            (filters.TEXT | filters.CAPTION) & filters.UpdateType.MESSAGES, self.on_text))
        application.add_handler(ChatMemberHandler(self.on_members, ChatMemberHandler.CHAT_MEMBER))
        application.add_handler(ChatMemberHandler(self.on_bot_membership, ChatMemberHandler.MY_CHAT_MEMBER))
        application.add_handler(CallbackQueryHandler(self.on_button))

    async def announce_commands(self, application: Application) -> None:
        texts = self.core.texts
        await application.bot.set_my_commands(
            [BotCommand(c.name, texts(f"cmd.desc.{c.name}")) for c in COMMANDS])

    async def on_text(self, update: Update, context: Ctx) -> None:
        incoming = convert.to_incoming(update, context.bot.username or "")
        if incoming is not None:
            await self._run(context, lambda: router.handle(incoming, self.core))

    async def on_members(self, update: Update, context: Ctx) -> None:
        for change in convert.member_changes(update):
            await self._run(context, functools.partial(router.member_changed, change, self.core, self.welcome))

    async def on_bot_membership(self, update: Update, context: Ctx) -> None:
        event = convert.bot_membership(update)
        if event is not None:
            await self._run(context, lambda: router.bot_membership(event, self.core))

    async def on_migrate(self, update: Update, context: Ctx) -> None:
        event = convert.migration(update)
        if event is not None:
            await self._run(context, lambda: router.chat_migrated(event, self.core))

    async def on_button(self, update: Update, context: Ctx) -> None:
        query = update.callback_query
        press = convert.button_press(update)
        if query is None or press is None:
            return
        outcome = await self._run(context, lambda: router.button_pressed(press, self.core))
        # The answer stops the client's spinner; it is not a chat message, so it is not in the outbox.
        await query.answer(outcome.notice or None)

    async def _run(self, context: Ctx, core_call: Callable[[], Outcome]) -> Outcome:
        """The core does blocking database work: keep it off the event loop, then queue its actions."""
        outcome = await self.workers.run(core_call)
        add_to_log_context(ticket=outcome.ticket_number)  # the delivery's lines say which ticket they serve
        self.deliver(outcome.queued)
        return outcome
