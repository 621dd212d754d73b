"""Bot API JSON shapes (User, Chat, ChatFullInfo, ChatMember*) with every field PTB 22 requires."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.sandbox.records import ChatInfo, Member

JSON = dict[str, Any]

# Update types Telegram leaves out unless allowed_updates names them explicitly.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
ACTIVE = frozenset({"creator", "administrator", "member", "restricted"})

PERMISSION_FIELDS = (
    "can_send_messages",
    "can_send_audios",
    "can_send_documents",
    "can_send_photos",
    "can_send_videos",
    "can_send_video_notes",
    "can_send_voice_notes",
    "can_send_polls",
    "can_send_other_messages",
    "can_add_web_page_previews",
    "can_change_info",
    "can_invite_users",
    "can_pin_messages",
    "can_manage_topics",
    "can_edit_tag",
    "can_react_to_messages",
)
ADMIN_FIELDS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
    "can_pin_messages",
    "can_manage_topics",
)


def default_permissions() -> dict[str, bool]:
    """What members of a fresh group may do (everything but topics and tags)."""
    return {name: name not in ("can_manage_topics", "can_edit_tag") for name in PERMISSION_FIELDS}


def default_admin_rights() -> dict[str, bool]:
    """Rights of a freshly promoted admin: all but promoting others."""
    return {name: name != "can_promote_members" for name in ADMIN_FIELDS}


def member_json(user: JSON, member: Member) -> JSON:
    """A ChatMember object for ``member``; the shape depends on the status like in the Bot API."""
    body: JSON = {"user": user, "status": member.status}
    if member.status == "creator":
        body["is_anonymous"] = False
    elif member.status == "administrator":
        body.update({"can_be_edited": False, "is_anonymous": False})
        body.update({name: member.rights.get(name, False) for name in ADMIN_FIELDS})
    elif member.status == "restricted":
        body.update({"is_member": member.is_member, "until_date": member.until_date})
        body.update({name: member.permissions.get(name, False) for name in PERMISSION_FIELDS})
    elif member.status == "kicked":
        body["until_date"] = member.until_date
    return body


def user_json(
    user_id: int, first_name: str, username: str | None = None, is_bot: bool = False, **extra: Any
) -> JSON:
    body: JSON = {"id": user_id, "is_bot": is_bot, "first_name": first_name}
    if username:
        body["username"] = username
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def full_chat_json(info: ChatInfo, permissions: dict[str, bool]) -> JSON:
    """ChatFullInfo as returned by getChat."""
    body = info.short()
    body.update(
        {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }
    )
    if info.type != "private":
        body["permissions"] = dict(permissions)
    return body


def photo_sizes(seed: int) -> list[JSON]:
    """A placeholder photo (two sizes) so PTB builds real PhotoSize objects."""
    return [
        {
            "file_id": f"photo-{seed}-{w}",
            "file_unique_id": f"u{seed}x{w}",
            "width": w,
            "height": w * 3 // 4,
            "file_size": w * 40,
        }
        for w in (90, 800)
    ]
