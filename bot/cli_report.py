"""`gridbot report kpi`: per-manager and per-station KPIs over a period, as tables or as JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from bot.bootstrap import build_engine
from bot.cli_common import fail_cleanly, settings
from handlers.context import utc_now
from handlers.kpi import KpiReport, KpiRow, OnTime, Period, kpi_report, report_dict
from storage.uow import UnitOfWork

app = typer.Typer(help="Reports over a period.", no_args_is_help=True)


def _date(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise typer.BadParameter(f"expected a date such as 2026-11-01, got {value!r}", param_hint=option) from None


@app.command("kpi")
def kpi(
    date_from: str = typer.Option(..., "--from", help="First day, YYYY-MM-DD (local date)."),
    date_to: str = typer.Option(..., "--to", help="Last day, YYYY-MM-DD, included."),
    as_json: bool = typer.Option(False, "--json", help="One JSON document."),
) -> None:
    """Handled, first response, on-time, reopen and satisfaction figures per manager and per station."""
    first, last = _date(date_from, "--from"), _date(date_to, "--to")
    if first > last:
        raise typer.BadParameter(f"{last} is before --from {first}", param_hint="--to")
    cfg = settings()
    with fail_cleanly(), UnitOfWork(build_engine(cfg)) as uow:
        report = kpi_report(uow, Period.of(first, last, cfg.tz), now=utc_now(), station_name=cfg.station_name)
    if as_json:
        typer.echo(json.dumps(report_dict(report), ensure_ascii=False, indent=1))
        return
    _print(report, cfg.timezone)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.0%}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _on_time(o: OnTime) -> str:
    return "-" if not o.decided else f"{o.on_time}/{o.decided} {_pct(o.rate)}"


def _table(title: str, headings: tuple[str, ...]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False,
                  padding=(0, 1, 0, 0))
    table.add_column("name", no_wrap=True)
    for heading in headings:
        table.add_column(heading, justify="right", no_wrap=True)
    return table


def _add_rows(table: Table, report: KpiReport, cells: Callable[[KpiRow], list[str]]) -> None:
    for r in report.managers:
        table.add_row(r.name, *cells(r))
    if report.managers:
        table.add_section()  # managers above, stations below
    for r in report.stations:
        table.add_row(r.name, *cells(r))


def _tickets(r: KpiRow) -> list[str]:
    fr = r.first_response
    reopened = f"{r.reopened} {_pct(r.reopen_rate)}" if r.handled else str(r.reopened)
    return [str(r.opened), str(r.merged), str(r.handled), reopened, _num(fr.median_minutes),
            _num(fr.mean_minutes), _on_time(r.on_time_overall)]


def _satisfaction(r: KpiRow) -> list[str]:
    s = r.satisfaction
    return [str(s.count), _pct(s.satisfied_share), _pct(s.fairly_satisfied_share), _pct(s.dissatisfied_share),
            "-" if s.mean_score is None else f"{s.mean_score:.2f}", str(s.no_rating)]


def _print(report: KpiReport, timezone: str) -> None:
    # Three narrow tables rather than one wide one, so the report fits an 80-column terminal.
    p, console = report.period, Console()
    title = f"KPI {p.date_from} – {p.date_to} ({timezone})"
    tickets = _table(f"{title}: tickets", ("opened", "merged", "handled", "reopened",
                                           "FR med", "FR mean", "on time"))
    tickets.caption = "FR: minutes to the first response; reopened: count and share of handled"
    _add_rows(tickets, report, _tickets)
    console.print(tickets)
    ratings = _table(f"{title}: satisfaction", ("rated", "满意", "基本满意", "不满意", "mean", "no rating"))
    _add_rows(ratings, report, _satisfaction)
    console.print(ratings)
    rows = [*report.managers, *report.stations]
    # Only the clocks that have a verdict somewhere.
    names = tuple(n for n, _ in rows[0].on_time if any(r.clock(n).decided for r in rows)) if rows else ()
    if names:
        clocks = _table(f"{title}: on time by clock", names)
        _add_rows(clocks, report, lambda r: [_on_time(r.clock(n)) for n in names])
        console.print(clocks)
