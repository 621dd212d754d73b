"""The other pages: the risk review queue, notices and their delivery, customers, groups, managers' KPIs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.app import Board, Viewer
from handlers.kpi import KpiReport, Period, kpi_report
from handlers.notices import PhaseReport, delivery_report
from storage.dashboard import Dashboard, GroupRow, NoticeRow, TicketRow
from storage.models import Customer, GroupMember, NoticePhase, RiskEvent
from storage.uow import UnitOfWork

SEARCH_CHARS = 50


def routes(board: Board) -> list[BaseRoute]:
    return [Route("/risk", board.page(risk)), Route("/notices", board.page(notices)),
            Route("/notices/{number:int}", board.page(notice)), Route("/customers", board.page(customers)),
            Route("/groups", board.page(groups)), Route("/groups/{number:int}", board.page(group)),
            Route("/managers", board.page(managers))]


async def risk(board: Board, viewer: Viewer, request: Request) -> Response:
    def load(uow: UnitOfWork) -> tuple[list[tuple[RiskEvent, str]], list[tuple[RiskEvent, str]], dict[int, str]]:
        queries = Dashboard(uow.session)
        return (queries.risk_events(viewer.scope, pending=True), queries.risk_events(viewer.scope, pending=False,
                                                                                     limit=50), queries.staff_names())

    pending, handled, names = await board.read(load)
    return board.show(request, viewer, "risk.html", pending=pending, handled=handled, names=names)


async def notices(board: Board, viewer: Viewer, request: Request) -> Response:
    rows = await board.read(lambda uow: Dashboard(uow.session).notices(viewer.scope))
    days: dict[date, list[tuple[NoticePhase, NoticeRow]]] = {}
    for row in rows:
        for phase in row.phases:
            days.setdefault(phase.due_at.astimezone(board.ctx.tz).date(), []).append((phase, row))
    calendar = [(day, sorted(days[day], key=lambda item: item[0].due_at)) for day in sorted(days)]
    return board.show(request, viewer, "notices.html", rows=rows, calendar=calendar,
                      today=board.now().astimezone(board.ctx.tz).date())


async def notice(board: Board, viewer: Viewer, request: Request) -> Response:
    wanted = int(request.path_params["number"])

    def load(uow: UnitOfWork) -> tuple[NoticeRow | None, list[PhaseReport]]:
        row = Dashboard(uow.session).notice(viewer.scope, wanted)
        return row, delivery_report(uow, wanted) if row is not None else []

    row, report = await board.read(load)
    if row is None:
        raise HTTPException(404)
    return board.show(request, viewer, "notice.html", row=row, report=report)


def _search(request: Request) -> str:
    return request.query_params.get("q", "").strip()[:SEARCH_CHARS]


async def customers(board: Board, viewer: Viewer, request: Request) -> Response:
    q = _search(request)

    def load(uow: UnitOfWork) -> tuple[Sequence[Customer], dict[int, str]]:
        queries = Dashboard(uow.session)
        return queries.customers(viewer.scope, q), queries.area_names()

    found, areas = await board.read(load)
    return board.show(request, viewer, "customers.html", customers=found, areas=areas, q=q)


async def groups(board: Board, viewer: Viewer, request: Request) -> Response:
    q = _search(request)
    rows = await board.read(lambda uow: Dashboard(uow.session).groups(viewer.scope, q))
    return board.show(request, viewer, "groups.html", rows=rows, q=q)


async def group(board: Board, viewer: Viewer, request: Request) -> Response:
    wanted = int(request.path_params["number"])
    found: tuple[GroupRow, Sequence[GroupMember], list[TicketRow]] | None = await board.read(
        lambda uow: Dashboard(uow.session).group(viewer.scope, wanted))
    if found is None:
        raise HTTPException(404)
    row, members, tickets = found
    return board.show(request, viewer, "group.html", row=row, members=members, tickets=tickets)


def _date(value: str | None, default: date) -> date:
    try:
        return date.fromisoformat(value) if value else default
    except ValueError:
        return default


async def managers(board: Board, viewer: Viewer, request: Request) -> Response:
    today = board.now().astimezone(board.ctx.tz).date()
    first = _date(request.query_params.get("from"), today.replace(day=1))
    last = _date(request.query_params.get("to"), today)
    first, last = min(first, last), max(first, last)
    now: datetime = board.now()

    def load(uow: UnitOfWork) -> tuple[KpiReport, set[int]]:
        report = kpi_report(uow, Period.of(first, last, board.ctx.tz), now=now, station_name=board.ctx.station_name)
        return report, Dashboard(uow.session).managers(viewer.scope)

    report, visible = await board.read(load)
    scope = viewer.scope
    rows = [r for r in report.managers if scope.everything or r.id in visible]
    stations = [r for r in report.stations
                if scope.everything or (scope.manager_id is None and r.id == scope.station_id)]
    return board.show(request, viewer, "managers.html", rows=rows, stations=stations, first=first, last=last)
