"""The composition root: settings in, a wired core out. The only place that knows every part."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from config.settings import RiskSettings, Settings
from handlers.appeals import load_expected_answers
from handlers.behaviour import BehaviourLimits, BehaviourWatch
from handlers.classifier import Classifier
from handlers.context import Context, RiskPolicy, utc_now
from handlers.deadlines import DeadlineTable, calendar_gap
from handlers.i18n import Texts
from handlers.types import ChatRef
from sensitive_words import SensitiveWordEngine
from storage.db import make_engine
from storage.migrate import ensure_migrated, upgrade
from storage.models import Staff
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    engine: Engine
    ctx: Context


def build_engine(settings: Settings, *, check_migrated: bool = True) -> Engine:
    engine = make_engine(settings.database_url)
    if check_migrated:
        ensure_migrated(engine)
    return engine


def build_context(settings: Settings, engine: Engine) -> Context:
    return Context(
        uow=lambda: UnitOfWork(engine),
        classifier=load_classifier(settings.lexicon_file),
        deadlines=DeadlineTable.from_file(settings.deadlines_file),
        texts=Texts(settings.language, settings.tz),
        tz=settings.tz,
        station_name=settings.station_name,
        default_area_type=settings.area_type_default,
        append_window=settings.tickets.append_window,
        max_text_chars=settings.tickets.max_text_chars,
        risk=load_risk_engine(settings.risk),
        risk_policy=RiskPolicy(settings.risk.warn_limit, timedelta(minutes=settings.risk.window_minutes),
                               timedelta(minutes=settings.risk.restrict_minutes)),
        behaviour=BehaviourWatch(behaviour_limits(settings.risk)),
        duplicate_window=timedelta(minutes=settings.tickets.duplicate_window_minutes),
        survey_timeout=timedelta(hours=settings.tickets.survey_timeout_hours),
        l2_delay=timedelta(minutes=settings.escalation.l2_delay_minutes),
        county_chats=tuple(ChatRef(*entry.split(":", 1)) for entry in settings.escalation.county_chats),
        notice_day_before_at=time.fromisoformat(settings.notices.day_before_at),
        notice_soon_before=timedelta(minutes=settings.notices.soon_minutes),
        digest_at=time.fromisoformat(settings.notices.digest_at),
        quiet_hours=_quiet_hours(settings.escalation.quiet_hours),
        risk_alert_gap=timedelta(minutes=settings.risk.supervisor_gap_minutes),
        risk_urgent=frozenset(settings.risk.urgent_categories),
    )


def _quiet_hours(value: str) -> tuple[time, time] | None:
    if not value:
        return None
    start, end = value.split("-")
    return time.fromisoformat(start), time.fromisoformat(end)


def behaviour_limits(risk: RiskSettings) -> BehaviourLimits:
    return BehaviourLimits(
        flood_messages=risk.flood_messages, flood_window=timedelta(seconds=risk.flood_seconds),
        repeat_groups=risk.repeat_groups, repeat_window=timedelta(minutes=risk.repeat_minutes),
        raid_joins=risk.raid_joins, raid_window=timedelta(minutes=risk.raid_minutes),
        new_member=timedelta(hours=risk.new_member_hours))


def load_risk_engine(risk: RiskSettings) -> SensitiveWordEngine | None:
    if not risk.enabled:
        return None
    if not risk.words_files:
        return SensitiveWordEngine.starter()
    return SensitiveWordEngine.from_files(risk.words_files, risk.allow_files or None)


def load_classifier(path: Path) -> Classifier:
    return Classifier.from_file(path)


def build_app(settings: Settings) -> App:
    engine = build_engine(settings)
    warn_about_the_calendar(datetime.now(settings.tz).date())
    ctx = build_context(settings, engine)
    if waiting := load_expected_answers(ctx):
        log.info("%d tickets wait for their customer's answer", waiting)
    return App(settings, engine, ctx)


def warn_about_the_calendar(today: date) -> None:
    gap = calendar_gap(today)
    if gap is not None:
        log.warning("chinesecalendar does not know the working days of %d yet: from %s, working-day deadlines "
                    "count Monday to Friday (holidays and 调休 unknown). Upgrade chinesecalendar as soon as a "
                    "release with %d is out.", gap.year, gap.isoformat(), gap.year)


def prepare_database(settings: Settings, *staff: Staff) -> None:
    """Migrate the database and register staff: the set-up of the demo, the tests and the benchmarks."""
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with UnitOfWork(engine) as uow:
            for person in staff:
                uow.staff.upsert(person)
            uow.commit()
    finally:
        engine.dispose()


def grid_manager(user_id: int | str, name: str, grade: str | None = None) -> Staff:
    return Staff(platform="telegram", user_id=str(user_id), name=name, role="grid_manager", grade=grade,
                 created_at=utc_now())
