"""What the core needs to run, wired once by the composition root (bot/bootstrap.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers.behaviour import BehaviourWatch
from handlers.classifier import Classifier
from handlers.deadlines import DeadlineTable
from handlers.i18n import Texts
from handlers.types import ChatRef
from sensitive_words import SensitiveWordEngine
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class RiskPolicy:
    """What repeated violations cost a customer in a group."""

    warn_limit: int = 3
    window: timedelta = timedelta(hours=24)
    restrict_for: timedelta = timedelta(hours=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    uow: Callable[[], UnitOfWork]
    classifier: Classifier
    deadlines: DeadlineTable
    texts: Texts
    tz: ZoneInfo
    station_name: str = "示范供电所"
    default_area_type: str = "rural"
    append_window: timedelta = timedelta(minutes=30)
    max_text_chars: int = 4000
    clock: Callable[[], datetime] = utc_now
    bot_username: str = ""
    risk: SensitiveWordEngine | None = None
    risk_policy: RiskPolicy = RiskPolicy()
    behaviour: BehaviourWatch = field(default_factory=BehaviourWatch)
    duplicate_window: timedelta = timedelta(hours=2)
    survey_timeout: timedelta = timedelta(hours=72)
    l2_delay: timedelta = timedelta(hours=2)
    county_chats: tuple[ChatRef, ...] = ()
    notice_day_before_at: time = time(18, 0)  # local time of the reminder the day before an outage
    notice_soon_before: timedelta = timedelta(minutes=30)
    quiet_hours: tuple[time, time] | None = None  # local; only the most severe alerts are sent inside them
    digest_at: time = time(8, 0)  # local time of the supervisors' daily digest (weekly: Mondays)
    risk_alert_gap: timedelta = timedelta(minutes=10)  # one supervisor alert per group per gap
    risk_urgent: frozenset[str] = frozenset({"fraud"})  # risk categories that break the quiet hours
    # The dashboard's address and how long a /login link works; set by the edge that serves it ("" = off).
    dashboard_url: str = ""
    login_link_valid: timedelta = timedelta(minutes=15)
    # Customers asked to explain a low rating in their own words, until when: their next message goes to the
    # ticket even without appeal words. In memory: after a restart the message takes the ordinary path.
    awaiting_text: dict[tuple[str, str, str], datetime] = field(default_factory=dict)
    # Groups already recorded with this title, so plain chat costs no database round trip.
    known_groups: set[tuple[str, str, str]] = field(default_factory=set)
