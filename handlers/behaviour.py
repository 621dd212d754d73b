"""Sensitive behaviour, as hits: flooding, the same message posted across groups, a join raid.

The windows live in memory (per process): they only need the last seconds or minutes of traffic, and a
restart forgetting them errs on the lenient side.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sensitive_words import Hit, Level

BEHAVIOUR = "behaviour"


@dataclass(frozen=True, slots=True)
class BehaviourLimits:
    flood_messages: int = 8  # more than this many messages …
    flood_window: timedelta = timedelta(seconds=10)  # … from one member in one group within this
    repeat_groups: int = 3  # the same text in this many groups …
    repeat_window: timedelta = timedelta(minutes=10)  # … within this
    raid_joins: int = 10  # this many joins in one group …
    raid_window: timedelta = timedelta(minutes=5)  # … within this
    new_member: timedelta = timedelta(hours=24)  # links and contact ids from members this new are spam


class BehaviourWatch:
    def __init__(self, limits: BehaviourLimits | None = None) -> None:
        self.limits = limits or BehaviourLimits()
        self._messages: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
        self._texts: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
        self._joins: dict[str, deque[datetime]] = defaultdict(deque)
        self._raid_alerted: dict[str, datetime] = {}

    def message(self, chat: str, user: str, text: str, at: datetime) -> list[Hit]:
        """Hits for a message's behaviour: flooding in this group, or the same text across groups."""
        hits: list[Hit] = []
        recent = _slide(self._messages[(chat, user)], at, self.limits.flood_window)
        if len(recent) > self.limits.flood_messages:
            hits.append(_hit("flood", text))
        if len(text.strip()) >= 6:  # short replies (好的, 收到) repeat innocently everywhere
            seen = self._texts[(user, _digest(text))]
            seen[chat] = at
            for group, when in list(seen.items()):
                if at - when > self.limits.repeat_window:
                    del seen[group]
            if len(seen) >= self.limits.repeat_groups:
                hits.append(_hit("cross_group_repeat", text))
        return hits

    def join(self, chat: str, at: datetime) -> bool:
        """True once per window when joins in this group reach the raid threshold."""
        joins = _slide(self._joins[chat], at, self.limits.raid_window)
        last = self._raid_alerted.get(chat)
        if len(joins) >= self.limits.raid_joins and (last is None or at - last > self.limits.raid_window):
            self._raid_alerted[chat] = at
            return True
        return False


def _slide(times: deque[datetime], at: datetime, window: timedelta) -> deque[datetime]:
    times.append(at)
    while times and at - times[0] > window:
        times.popleft()
    return times


def _digest(text: str) -> str:
    return hashlib.blake2b("".join(text.split()).encode(), digest_size=12).hexdigest()


def _hit(word: str, text: str) -> Hit:
    return Hit(word, BEHAVIOUR, Level.BLOCK, 0, len(text), text)
