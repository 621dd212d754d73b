"""Builders for platform-neutral events, shared by the core's tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from handlers.context import Context
from handlers.types import ChatRef, ChatType, Incoming, Send, UserRef
from storage.models import Staff

GROUP = ChatRef("telegram", "-1001")
OTHER_GROUP = ChatRef("telegram", "-1002")
_ids = itertools.count(1)


def message(text: str, *, user: str = "501", name: str = "王大爷", chat: ChatRef = GROUP,
            message_id: str | None = None, private: bool = False) -> Incoming:
    return Incoming(
        chat=ChatRef(chat.platform, user) if private else chat,
        sender=UserRef(chat.platform, user, name),
        text=text,
        message_id=message_id or str(next(_ids)),
        sent_at=datetime.now(UTC),
        chat_type=ChatType.PRIVATE if private else ChatType.GROUP,
        chat_title="幸福村客户群" if chat == GROUP else "阳光小区客户群",
    )


def texts_to(actions: list, chat: ChatRef) -> list[str]:  # type: ignore[type-arg]
    return [a.text for a in actions if isinstance(a, Send) and a.chat == chat]


def add_manager(ctx: Context, user_id: str = "900", name: str = "李经理") -> Staff:
    """Register a grid manager (user 900 by default, the one the core tests talk as)."""
    with ctx.uow() as uow:
        staff = uow.staff.upsert(Staff(platform="telegram", user_id=user_id, name=name, role="grid_manager",
                                       created_at=ctx.clock()))
        uow.commit()
    return staff
