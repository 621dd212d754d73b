"""Every page checks the role: a manager sees their areas, a supervisor their station (or the county without
one), an admin everything; anything else is a 404 with no data in it."""

from __future__ import annotations

import re

import pytest

from bot.web.app import Board
from tests.web.conftest import csrf_of, sign_in
from tests.web.seed import World

# Who sees which of the seeded tickets: li's own; zhou's in li's group; zhou's own; wu's at the other station.
SEES = {
    "li": {"li", "zhou_in_li_group"},
    "zhou": {"zhou_in_li_group", "zhou"},
    "wu": {"wu"},
    "zhao": {"li", "zhou_in_li_group", "zhou"},
    "qian": {"wu"},
    "sun": {"li", "zhou_in_li_group", "zhou", "wu"},
    "admin": {"li", "zhou_in_li_group", "zhou", "wu"},
}
TICKET_LINK = re.compile(r'href="/tickets/(\d+)"')


def _kpi_table(page: str) -> str:
    return page[page.index('data-testid="kpi"'):page.index("</table>", page.index('data-testid="kpi"'))]


def _listed(page: str) -> set[int]:
    return {int(n) for n in TICKET_LINK.findall(page)}


@pytest.mark.parametrize("who", sorted(SEES))
def test_tickets_list_and_pages_follow_the_scope(board: Board, world: World, who: str) -> None:
    http = sign_in(board, world.staff[who])
    visible = {world.tickets[key] for key in SEES[who]}
    assert _listed(http.get("/tickets").text) == visible
    for key, number in world.tickets.items():
        page = http.get(f"/tickets/{number}")
        if key in SEES[who]:
            assert page.status_code == 200 and "王大爷" in page.text
        else:  # forbidden looks exactly like absent, with no data of the ticket
            assert page.status_code == 404 and "王大爷" not in page.text and "停电" not in page.text
    assert http.get("/tickets/999999").status_code == 404


def test_groups_customers_and_risk_of_other_areas_stay_hidden(board: Board, world: World) -> None:
    li = sign_in(board, world.staff["li"])
    groups = li.get("/groups").text
    assert "幸福村客户群" in groups and "阳光小区客户群" not in groups and "东村客户群" not in groups
    assert li.get(f"/groups/{world.groups['wu']}").status_code == 404
    assert li.get(f"/groups/{world.groups['zhou']}").status_code == 404
    customers = li.get("/customers").text
    assert "3201234567" in customers and "3209999999" not in customers
    assert "3209999999" not in li.get("/customers?q=3209").text
    risk = li.get("/risk").text
    assert f"/risk/{world.risk['li']}/dismiss" in risk and f"/risk/{world.risk['wu']}/" not in risk
    notices = li.get("/notices").text
    assert f"/notices/{world.notices['li']}" in notices and f"/notices/{world.notices['wu']}" not in notices
    assert li.get(f"/notices/{world.notices['wu']}").status_code == 404


def test_a_station_supervisor_sees_the_station_and_not_the_other(board: Board, world: World) -> None:
    zhao = sign_in(board, world.staff["zhao"])
    groups = zhao.get("/groups").text
    assert "幸福村客户群" in groups and "阳光小区客户群" in groups and "东村客户群" not in groups
    assert zhao.get(f"/groups/{world.groups['wu']}").status_code == 404
    assert zhao.get(f"/notices/{world.notices['wu']}").status_code == 404
    assert "3209999999" not in zhao.get("/customers").text
    kpis = _kpi_table(zhao.get("/managers?from=2026-11-01&to=2026-11-30").text)
    assert "李经理" in kpis and "吴经理" not in kpis and "示范供电所" in kpis and "东村供电所" not in kpis


def test_the_county_and_the_admin_see_every_station(board: Board, world: World) -> None:
    for who in ("sun", "admin"):
        http = sign_in(board, world.staff[who])
        groups = http.get("/groups").text
        assert all(title in groups for title in ("幸福村客户群", "阳光小区客户群", "东村客户群"))
        assert http.get(f"/notices/{world.notices['wu']}").status_code == 200
        kpis = _kpi_table(http.get("/managers?from=2026-11-01&to=2026-11-30").text)
        assert "东村供电所" in kpis and "示范供电所" in kpis


def test_a_manager_sees_only_their_own_kpis(board: Board, world: World) -> None:
    kpis = _kpi_table(sign_in(board, world.staff["li"]).get("/managers?from=2026-11-01&to=2026-11-30").text)
    assert "李经理" in kpis and "周经理" not in kpis and "吴经理" not in kpis and "示范供电所" not in kpis


def test_the_overview_counts_only_the_scope(board: Board, world: World) -> None:
    def tile(page: str, name: str) -> int:
        found = re.search(rf'data-testid="{name}">(\d+)<', page)
        assert found is not None
        return int(found.group(1))

    for who in ("li", "zhao", "admin"):
        page = sign_in(board, world.staff[who]).get("/").text
        assert tile(page, "open") == len(SEES[who]), who
        assert tile(page, "escalated") == len(SEES[who]), who  # every seeded ticket had an L1 escalation


def test_acting_on_a_ticket_or_risk_event_out_of_scope_is_refused(board: Board, world: World) -> None:
    li = sign_in(board, world.staff["li"])
    csrf = csrf_of(li)
    nonce = "n" * 22
    for verb in ("resolve", "reply"):
        answer = li.post(f"/tickets/{world.tickets['wu']}/{verb}", data={"csrf": csrf, "nonce": nonce, "text": "x"})
        assert answer.status_code == 404
    answer = li.post(f"/tickets/{world.tickets['zhou']}/assign",
                     data={"csrf": csrf, "nonce": nonce, "staff": str(world.staff["li"].id)})
    assert answer.status_code == 404
    assert li.post(f"/risk/{world.risk['wu']}/dismiss", data={"csrf": csrf}).status_code == 404
    with board.ctx.uow() as uow:
        ticket = uow.tickets.get(world.tickets["wu"])
        event = uow.risk.get(world.risk["wu"])
        assert ticket is not None and ticket.status == "new" and event is not None and event.action == "pending"
