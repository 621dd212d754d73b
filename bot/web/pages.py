"""The overview and the tickets: list with filters, one ticket with its timeline and the forms to act on it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from statistics import fmean

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.app import Board, Viewer
from handlers.kpi import staff_of
from handlers.types import Kind
from storage.dashboard import Dashboard, NoticeRow, Overview, TicketDetail, TicketFilter, TicketRow
from storage.models import Area, Staff
from storage.repositories import OPEN_STATUSES
from storage.uow import UnitOfWork

CHART_DAYS = 30
PAGE_SIZE = 50
STATUSES = ("new", "accepted", "in_progress", "waiting_customer", "reopened", "resolved", "closed", "merged",
            "cancelled")
KINDS = tuple(kind.value for kind in Kind if kind is not Kind.NONE)


def routes(board: Board) -> list[BaseRoute]:
    return [Route("/", board.page(overview)), Route("/tickets", board.page(tickets)),
            Route("/tickets/{number:int}", board.page(ticket))]


def local_midnight(day: date, board: Board) -> datetime:
    return datetime.combine(day, time(0), tzinfo=board.ctx.tz)


def per_day(times: list[datetime], days: list[date], board: Board) -> list[int]:
    counts = Counter(moment.astimezone(board.ctx.tz).date() for moment in times)
    return [counts.get(day, 0) for day in days]


def in_flight(rows: list[NoticeRow], now: datetime) -> list[NoticeRow]:
    """Notices still to run their course: scheduled, and not over or with a phase still to send."""
    return [row for row in rows if row.notice.status == "scheduled"
            and (row.notice.end_at is None or row.notice.end_at > now
                 or any(phase.status == "pending" for phase in row.phases))]


async def overview(board: Board, viewer: Viewer, request: Request) -> Response:
    now = board.now()
    today = now.astimezone(board.ctx.tz).date()
    days = [today - timedelta(days=n) for n in range(CHART_DAYS - 1, -1, -1)]

    def load(uow: UnitOfWork) -> tuple[Overview, list[NoticeRow]]:
        queries = Dashboard(uow.session)
        return (queries.overview(viewer.scope, now, local_midnight(today, board), local_midnight(days[0], board)),
                in_flight(queries.notices(viewer.scope), now))

    figures, notices = await board.read(load)
    scores = figures.scores
    chart = {"labels": [f"{d.month:02d}-{d.day:02d}" for d in days],
             "opened": per_day(figures.opened_times, days, board),
             "resolved": per_day(figures.resolved_times, days, board),
             "risk": per_day(figures.risk_times, days, board)}
    satisfaction = {"count": len(scores), "mean": f"{fmean(scores):.2f}" if scores else "-",
                    "satisfied": f"{sum(s >= 4 for s in scores) / len(scores):.0%}" if scores else "-"}
    return board.show(request, viewer, "overview.html", figures=figures, chart=chart, satisfaction=satisfaction,
                      notices=notices)


def number(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


async def tickets(board: Board, viewer: Viewer, request: Request) -> Response:
    params = request.query_params
    status, kind = params.get("status", ""), params.get("kind", "")
    wanted = TicketFilter(status=status if status in (*STATUSES, "open") else "", kind=kind if kind in KINDS else "",
                          area_id=number(params.get("area")), assignee_id=number(params.get("manager")))
    page = max(1, number(params.get("page")) or 1)

    def load(uow: UnitOfWork) -> tuple[list[TicketRow], int, Sequence[Area], Sequence[Staff]]:
        queries = Dashboard(uow.session)
        rows, total = queries.tickets(viewer.scope, wanted, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        return rows, total, queries.areas(viewer.scope), queries.assignees(viewer.scope)

    rows, total, areas, managers = await board.read(load)
    kept = "&".join(f"{key}={value}" for key, value in params.multi_items() if key not in ("page", "lang") and value)
    return board.show(request, viewer, "tickets.html", rows=rows, total=total, areas=areas, managers=managers,
                      wanted=wanted, statuses=STATUSES, kinds=KINDS, page=page,
                      pages=max(1, -(-total // PAGE_SIZE)), kept=kept)


async def ticket(board: Board, viewer: Viewer, request: Request) -> Response:
    wanted = int(request.path_params["number"])

    def load(uow: UnitOfWork) -> tuple[TicketDetail | None, Sequence[Staff]]:
        queries = Dashboard(uow.session)
        station = viewer.staff.station_id if viewer.staff.role != "admin" else None
        return queries.ticket(viewer.scope, wanted), queries.assignable(station)

    detail, staff = await board.read(load)
    if detail is None:  # absent or outside the viewer's areas: the same answer, so nothing leaks
        raise HTTPException(404)
    found, names = detail.ticket, detail.staff_names

    def actor(value: str) -> str:
        """Who did it, by name; "" for the system."""
        staff_id = staff_of(value)
        if staff_id is not None:
            return names.get(staff_id, value)
        return found.sender_name or "-" if value.startswith("customer:") else ""

    return board.show(request, viewer, "ticket.html", d=detail, ticket=found, names=names, actor=actor,
                      staff=staff, is_open=found.status in OPEN_STATUSES)
