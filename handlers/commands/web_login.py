"""/login: a one-time sign-in link to the dashboard (工作看板), sent to a staff member in their private chat.

The link carries a random token; only its SHA-256 is stored (storage/dashboard.py). It works once, within
the configured minutes, and a newer link replaces an unused older one. The message goes out through the
outbox under its own key, so the web app can blank its text once the link is spent.

The address of the dashboard and the link's lifetime come from the settings, which only the edge reads:
the service hands them over with `enable` when it mounts the dashboard. Without that (the dashboard is
off), /login says so.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from handlers.commands.base import CommandCall, Refusal, UsageError
from handlers.context import Context
from handlers.outbox import from_row, to_row
from handlers.types import Action, ChatType, Queued, Send
from storage.dashboard import LOGIN_MESSAGE_KEY, WebAuth

LINK_PATH = "/login/link/"


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    base_url: str  # e.g. https://board.example.cn or http://127.0.0.1:8080, without a trailing slash
    valid_for: timedelta


def enable(ctx: Context, policy: LinkPolicy) -> None:
    """Let /login hand out links to this dashboard (called by the edge that serves it)."""
    ctx.dashboard_url, ctx.login_link_valid = policy.base_url, policy.valid_for


def policy_of(ctx: Context) -> LinkPolicy | None:
    return LinkPolicy(ctx.dashboard_url, ctx.login_link_valid) if ctx.dashboard_url else None


def issue_link(auth: WebAuth, staff_id: int, policy: LinkPolicy, ctx: Context) -> tuple[int, str]:
    """A fresh one-time link for a staff member: (link id, full URL)."""
    token = secrets.token_urlsafe(32)
    link = auth.issue_link(staff_id, token, ctx.clock(), policy.valid_for)
    return link.id or 0, f"{policy.base_url.rstrip('/')}{LINK_PATH}{token}"


def login(call: CommandCall) -> list[Action]:
    if call.args.strip():
        raise UsageError
    if call.incoming.chat_type is not ChatType.PRIVATE:
        raise Refusal(call.t("web_login.private_only"))
    policy = policy_of(call.ctx)
    if policy is None:
        raise Refusal(call.t("web_login.disabled"))
    assert call.staff is not None and call.staff.id is not None  # the table lets only staff run it
    link_id, url = issue_link(WebAuth(call.uow.session), call.staff.id, policy, call.ctx)
    minutes = int(policy.valid_for / timedelta(minutes=1))
    text = call.t("web_login.link", url=url, minutes=minutes, name=call.staff.name)
    # Written here under its own key rather than returned, so the web app finds it to blank it once used.
    row = to_row(Send(call.incoming.chat, text, reply_to_message_id=call.incoming.message_id, shows_numbers=True),
                 call.ctx.clock())
    row.dedupe_key = LOGIN_MESSAGE_KEY.format(link_id)
    stored = call.uow.outbox.add(row)
    call.queued.append(Queued(stored.id or 0, from_row(stored)))
    return []
