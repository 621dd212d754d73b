"""The Telegram edge: PTB handlers turn updates into core events; core actions become Bot API calls.

The command table is the core's (handlers/commands/table.py): every command there is registered here
and announced with setMyCommands, so Telegram and the core never disagree about what exists.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.error import BadRequest, ChatMigrated, Forbidden, TelegramError
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
from handlers import router
from handlers.commands.table import COMMANDS
from handlers.context import Context
from handlers.privacy import mask_text
from handlers.types import Action, BotMembership, ChatRef, Delete, Outcome, Send

log = logging.getLogger(__name__)
Ctx = ContextTypes.DEFAULT_TYPE


class TelegramAdapter:
    def __init__(self, core: Context, *, welcome: bool = True) -> None:
        self.core = core
        self.welcome = welcome

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
        # No button is live yet: anything pressed is stale or forged, and is refused.
        query = update.callback_query
        if query is not None:
            log.warning("refused callback %r from user %s", (query.data or "")[:64], query.from_user.id)
            await query.answer(self.core.texts("button.refused"), show_alert=False)

    async def _run(self, context: Ctx, core_call: Callable[[], Outcome]) -> None:
        """The core does blocking database work: keep it off the event loop, then act on its outcome."""
        outcome = await asyncio.to_thread(core_call)
        await self.execute(context, outcome.actions)

    async def execute(self, context: Ctx, actions: Sequence[Action]) -> None:
        for action in actions:
            try:
                await self._carry_out(context, action)
            except ChatMigrated as exc:
                await self._follow_migration(context, action, exc.new_chat_id)
            except Forbidden as exc:
                await self._lost_chat(action.chat, str(exc))
            except TelegramError as exc:
                log.error("could not %s in chat %s: %s", type(action).__name__, action.chat.chat_id, exc)

    async def _carry_out(self, context: Ctx, action: Action) -> None:
        if isinstance(action, Delete):
            await context.bot.delete_message(int(action.chat.chat_id), int(action.message_id))
            return
        markup = None
        if action.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                                           for row in action.buttons])
        reply = None
        if action.reply_to_message_id and action.reply_to_message_id.isdigit():
            reply = ReplyParameters(int(action.reply_to_message_id), allow_sending_without_reply=True)
        try:
            await context.bot.send_message(int(action.chat.chat_id), action.text, reply_parameters=reply,
                                           reply_markup=markup)
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                raise Forbidden(str(exc)) from exc
            raise
        log.debug("sent to %s: %s", action.chat.chat_id, mask_text(action.text[:80]))

    async def _follow_migration(self, context: Ctx, action: Action, new_chat_id: int) -> None:
        from handlers.types import ChatMigrated as Migrated

        new = convert.chat_ref(new_chat_id)
        await asyncio.to_thread(router.chat_migrated, Migrated(action.chat, new), self.core)
        if isinstance(action, Send):
            moved = Send(new, action.text, None, action.buttons)  # the old message ids do not carry over
            await self.execute(context, [moved])

    async def _lost_chat(self, chat: ChatRef, reason: str) -> None:
        """Kicked from a group (or a user who never started the bot): stop treating it as reachable."""
        log.warning("chat %s unreachable: %s", chat.chat_id, reason)
        if chat.chat_id.startswith("-"):
            gone = BotMembership(chat, False, datetime.now(UTC))
            await asyncio.to_thread(router.bot_membership, gone, self.core)
