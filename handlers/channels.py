"""What each chat platform really allows, as flags the core consults and the README's table states.

The core never asks "is this WeCom?": it asks whether a message can be deleted, whether a group can be
posted to directly, whether buttons work. WeCom's official APIs give an app no customer-group text in real
time (only through 会话内容存档, read in batches), cannot delete or mute in customer groups, and post into a
customer group only through a 群发 task the group's owner confirms (see ../shared/DOMAIN.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class GroupPosting(StrEnum):
    DIRECT = "direct"  # the bot posts into the group itself
    OWNER_CONFIRMS = "owner_confirms"  # the group's owner gets a task and posts (or confirms) it


@dataclass(frozen=True, slots=True)
class Capabilities:
    group_text_live: bool  # group messages reach the bot as they are posted
    group_posting: GroupPosting
    deletes_messages: bool  # the bot can remove a customer's message from a group
    restricts_members: bool  # the bot can mute a member of a group
    buttons_private: bool  # buttons work in a staff member's or customer's private chat with the bot
    buttons_group: bool  # buttons work in groups
    photos: bool  # pictures (the digest's chart) can be sent
    groups_per_broadcast: int  # groups one notice call may address

    @property
    def posts_to_groups(self) -> bool:
        return self.group_posting is GroupPosting.DIRECT


TELEGRAM = Capabilities(group_text_live=True, group_posting=GroupPosting.DIRECT, deletes_messages=True,
                        restricts_members=True, buttons_private=True, buttons_group=True, photos=True,
                        groups_per_broadcast=1)
# Private buttons: template cards (button_interaction) for staff, menu messages (msgmenu) in 微信客服 chats.
WECOM = Capabilities(group_text_live=False, group_posting=GroupPosting.OWNER_CONFIRMS, deletes_messages=False,
                     restricts_members=False, buttons_private=True, buttons_group=False, photos=False,
                     groups_per_broadcast=2000)
PLATFORMS: dict[str, Capabilities] = {"telegram": TELEGRAM, "wecom": WECOM}


def capabilities(platform: str) -> Capabilities:
    """Unknown platforms (tests' fakes) behave like Telegram, the fullest set."""
    return PLATFORMS.get(platform, TELEGRAM)
