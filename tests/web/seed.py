"""A small station world for the dashboard tests: two stations, managers, a supervisor of each, the county,
an admin; groups, members, customers and tickets whose texts and names carry phone and ID numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.context import Context
from storage.models import (
    Area,
    ChatGroup,
    Customer,
    GroupMember,
    Notice,
    NoticePhase,
    RiskEvent,
    Staff,
    Station,
    Survey,
    Ticket,
    TicketAlert,
    TicketClock,
    TicketEvent,
)
from storage.uow import UnitOfWork

# Every full number that appears somewhere in the data set; no page may show one.
PHONES = ("13812345678", "15912345678", "13912345678", "18600001111", "13700001111", "17712345678")
ID_NUMBER = "110105194912310021"


@dataclass
class World:
    staff: dict[str, Staff] = field(default_factory=dict)  # by key: li, zhou, wu, zhao, qian, sun, admin
    tickets: dict[str, int] = field(default_factory=dict)  # by key: li, zhou_in_li_group, zhou, wu
    groups: dict[str, int] = field(default_factory=dict)
    risk: dict[str, int] = field(default_factory=dict)
    notices: dict[str, int] = field(default_factory=dict)


def _add(uow: UnitOfWork, row: object) -> None:
    uow.session.add(row)
    uow.session.flush()


def seed(ctx: Context) -> World:
    now, world = ctx.clock(), World()
    with ctx.uow() as uow:
        east, west = Station(name="示范供电所"), Station(name="东村供电所")
        for row in (east, west):
            _add(uow, row)
        areas = {"xingfu": Area(station_id=east.id or 0, name="幸福村台区"),
                 "yangguang": Area(station_id=east.id or 0, name="阳光小区台区", area_type="city"),
                 "dongcun": Area(station_id=west.id or 0, name="东村台区")}
        for row in areas.values():
            _add(uow, row)
        people = {"li": ("900001", "李经理", "grid_manager", east.id),
                  "zhou": ("900002", "周经理", "grid_manager", east.id),
                  "wu": ("900003", "吴经理", "grid_manager", west.id),
                  "zhao": ("900010", "赵所长", "supervisor", east.id),
                  "qian": ("900011", "钱所长", "supervisor", west.id),
                  "sun": ("900020", "孙主任", "supervisor", None),
                  "admin": ("900030", "管理员", "admin", None)}
        for key, (user_id, name, role, station) in people.items():
            world.staff[key] = Staff(platform="telegram", user_id=user_id, name=name, role=role, station_id=station,
                                     created_at=now)
            _add(uow, world.staff[key])
        groups = {"li": ("-1001", "幸福村客户群", "xingfu", "li"),
                  "zhou": ("-1002", "阳光小区客户群", "yangguang", "zhou"),
                  "wu": ("-1003", "东村客户群", "dongcun", "wu")}
        for key, (chat_id, title, area, manager) in groups.items():
            group = ChatGroup(platform="telegram", chat_id=chat_id, title=title, area_id=areas[area].id,
                              manager_id=world.staff[manager].id, created_at=now, updated_at=now)
            _add(uow, group)
            world.groups[key] = group.id or 0
            _add(uow, GroupMember(group_id=group.id or 0, user_id=f"5{chat_id[-1]}1", joined_at=now - timedelta(days=3),
                                  display_name=f"王大爷{PHONES[1]}"))
            _add(uow, GroupMember(group_id=group.id or 0, user_id=f"5{chat_id[-1]}2", display_name="张阿姨",
                                  joined_at=now - timedelta(days=2), left_at=now - timedelta(days=1)))
        customers = {"li": Customer(account_no="3201234567", name=f"王大爷{PHONES[0]}", phone=PHONES[0],
                                    address=f"幸福村3组 电话{PHONES[2]}", area_id=areas["xingfu"].id,
                                    usage_category="居民", platform="telegram", user_id="511", created_at=now),
                     "wu": Customer(account_no="3209999999", name="东村刘师傅", phone=PHONES[3],
                                    address=f"东村 身份证{ID_NUMBER}", area_id=areas["dongcun"].id, created_at=now)}
        for row in customers.values():
            _add(uow, row)
        specs = {"li": ("li", "li", "xingfu", "repair", customers["li"].id),
                 "zhou_in_li_group": ("li", "zhou", "xingfu", "inquiry", None),
                 "zhou": ("zhou", "zhou", "yangguang", "complaint", None),
                 "wu": ("wu", "wu", "dongcun", "repair", customers["wu"].id)}
        for n, (key, (group, assignee, area, kind, customer)) in enumerate(specs.items()):
            world.tickets[key] = _ticket(uow, now - timedelta(hours=n + 1), groups[group][0], world.groups[group],
                                         world.staff[assignee], areas[area], kind, customer)
        _add(uow, Survey(ticket_id=world.tickets["li"], platform="telegram", chat_id="-1001", customer_user_id="511",
                         status="rated", asked_at=now, score=2, answered_at=now, reason=f"打{PHONES[4]}没人接",
                         staff_id=world.staff["li"].id, station_id=east.id))
        for key, chat_id in (("li", "-1001"), ("wu", "-1003")):
            event = RiskEvent(platform="telegram", chat_id=chat_id, message_id="77", sender_user_id="511",
                              sender_name=f"广告号{PHONES[5]}", category="ad", level="review", word="加微信",
                              excerpt="加微信 138****5678 领红包", action="pending", at=now)
            _add(uow, event)
            world.risk[key] = event.id or 0
        for key, area in (("li", "幸福村台区"), ("wu", "东村台区")):
            notice = Notice(kind="planned", areas=[area], start_at=now + timedelta(days=8),
                            end_at=now + timedelta(days=8, hours=8), reason="10kV线路检修",
                            contact=f"李经理 {PHONES[4]}", created_by=world.staff[key].id, created_at=now,
                            updated_at=now)
            _add(uow, notice)
            world.notices[key] = notice.id or 0
            _add(uow, NoticePhase(notice_id=notice.id or 0, phase="published", due_at=now, status="sent", fired_at=now,
                                  groups=1))
            _add(uow, NoticePhase(notice_id=notice.id or 0, phase="day_before", due_at=now + timedelta(days=7)))
        uow.commit()
    return world


def _ticket(uow: UnitOfWork, opened: datetime, chat_id: str, group_id: int, assignee: Staff, area: Area, kind: str,
            customer_id: int | None) -> int:
    ticket = Ticket(kind=kind, text=f"家里停电了，我电话{PHONES[0]}，身份证{ID_NUMBER}，快来人看看",
                    customer_id=customer_id, group_id=group_id, platform="telegram", chat_id=chat_id,
                    sender_user_id="511", sender_name=f"王大爷{PHONES[1]}", source_message_id="10",
                    assignee_id=assignee.id, opened_at=opened,
                    updated_at=opened, last_customer_message_at=opened, due_at=opened + timedelta(hours=1),
                    area_id=area.id, station_id=area.station_id)
    _add(uow, ticket)
    ticket_id = ticket.id or 0
    _add(uow, TicketEvent(ticket_id=ticket_id, at=opened, actor="customer:telegram:511", action="opened",
                          note=f"客户留了电话 {PHONES[0]}"))
    _add(uow, TicketEvent(ticket_id=ticket_id, at=opened, actor=f"staff:{assignee.id}", action="noted",
                          note=f"回电 {PHONES[2]}"))
    clock = TicketClock(ticket_id=ticket_id, name="arrival", due_at=opened + timedelta(minutes=30), started_at=opened,
                        amount=30, unit="min", met_on="arrival")
    _add(uow, clock)
    _add(uow, TicketAlert(key=f"{ticket_id}:{clock.id}:L1", ticket_id=ticket_id, clock_id=clock.id, level="L1",
                          at=opened + timedelta(minutes=31), recipients=1))
    return ticket_id
