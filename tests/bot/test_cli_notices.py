"""`gridbot notices create|list|show|cancel|restore` against a migrated SQLite file: the rows written for the
running service to send, the publisher's report, and bad options named. Times are relative to the real clock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from storage.db import make_engine
from storage.models import Area, ChatGroup, NoticePhase, OutboxMessage, Station
from tests.cli_helpers import gridbot, isolate

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def station(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path, 'notices.db')



def days_ahead(days: int, hour: int) -> str:
    """A local ISO time `days` from today (Shanghai), without an offset, as a publisher types it."""
    day = datetime.now(SH).date() + timedelta(days=days)
    return f"{day.isoformat()}T{hour:02d}:00"


def seed(db: Path) -> None:
    """幸福村台区 ← 幸福村客户群, 光明村台区 ← 光明村客户群, and 阳光小区客户群 bound to nothing, tagged 小区."""
    engine = make_engine(f"sqlite:///{db}")
    now = datetime.now(SH)
    with Session(engine) as session:
        st = Station(name="示范供电所")
        session.add(st)
        session.flush()
        assert st.id is not None
        bound = (("-1001", "幸福村客户群", "幸福村台区"), ("-1002", "光明村客户群", "光明村台区"),
                 ("-1003", "阳光小区客户群", None))
        for chat_id, title, area_name in bound:
            area_id = None
            if area_name:
                area = Area(station_id=st.id, name=area_name)
                session.add(area)
                session.flush()
                area_id = area.id
            session.add(ChatGroup(platform="telegram", chat_id=chat_id, title=title, area_id=area_id,
                                  tags=["小区"] if area_id is None else [], created_at=now, updated_at=now))
        session.commit()
    engine.dispose()


def rows(db: Path) -> list[OutboxMessage]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())
    finally:
        engine.dispose()


def phases(db: Path) -> list[NoticePhase]:
    engine = make_engine(f"sqlite:///{db}")
    try:
        with Session(engine) as session:
            return list(session.exec(select(NoticePhase).order_by(col(NoticePhase.id))).all())
    finally:
        engine.dispose()


@pytest.fixture
def db(station: Path) -> Path:
    assert gridbot("db", "upgrade")[0] == 0
    seed(station / "notices.db")
    return station / "notices.db"


def test_create_writes_the_group_rows_for_the_service_and_reports_the_plan(db: Path) -> None:
    code, out = gridbot("notices", "create", "--type", "planned", "--areas", "幸福村台区", "--start", days_ahead(10, 8),
                        "--end", days_ahead(10, 18), "--reason", "10kV幸福线检修", "--contact", "李经理 13812345678",
                        "--lines", "10kV幸福线")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[:3] == ["通知 1（计划停电）已发布，已发往 1 个群。", "群：幸福村客户群", "后续提醒："]
    assert any(line.endswith("前一天提醒") and "18:00" in line for line in lines)
    assert any(line.endswith("开始前提醒") and "07:30" in line for line in lines)
    assert "提前 7 天" not in out
    assert lines[-1].startswith("群消息由正在运行的 gridbot 服务发送（一分钟内）")

    [row] = rows(db)  # pending, for the running service's outbox sweep; only the bound area's group
    assert (row.chat_id, row.sent_at, row.failed_at) == ("-1001", None, None)
    assert row.dedupe_key and row.notice_phase_id and "联系电话：李经理 13812345678" in row.text
    assert "线路：10kV幸福线" in row.text
    assert [p.phase for p in phases(db)] == ["published", "day_before", "soon", "start"]


def test_list_show_and_cancel(db: Path) -> None:
    gridbot("notices", "create", "--type", "planned", "--areas", "幸福村台区,光明村台区", "--start", days_ahead(3, 9),
            "--end", days_ahead(3, 17), "--reason", "线路改造")
    code, out = gridbot("notices", "list", "--json")
    assert code == 0, out
    [notice] = json.loads(out)
    assert (notice["number"], notice["kind"], notice["status"]) == (1, "planned", "scheduled")
    assert notice["areas"] == ["幸福村台区", "光明村台区"] and "提前 7 天" in notice["warning"]
    code, out = gridbot("notices", "list")
    assert code == 0 and "planned" in out and "线路改造" in out

    code, out = gridbot("notices", "show", "1")
    assert code == 0, out
    assert out.startswith("通知 1【计划停电】进行中，第 1 版")
    assert "已发 2 个群：送达 0，待发 2，失败 0" in out and "前一天提醒：计划" in out
    code, out = gridbot("notices", "show", "1", "--json")
    doc = json.loads(out)
    assert doc["number"] == 1 and doc["phases"][0] == doc["phases"][0] | {
        "phase": "published", "status": "sent", "groups": 2, "sent": 0, "pending": 2, "failed": []}

    code, out = gridbot("notices", "cancel", "1", "--reason", "天气原因")
    assert code == 0, out
    assert out.startswith("通知 1 已取消，取消通知已发往 2 个群。")
    cancellations = [row for row in rows(db) if "【停电取消】" in row.text]
    assert sorted(row.chat_id for row in cancellations) == ["-1001", "-1002"]
    assert {p.status for p in phases(db) if p.phase in ("day_before", "soon", "start")} == {"dropped"}
    code, out = gridbot("notices", "cancel", "1", "--reason", "again")
    assert code == 1 and "通知 1 当前为「已取消」，不能再修改。" in out
    code, out = gridbot("notices", "list", "--active", "--json")
    assert json.loads(out) == []


def test_a_fault_is_restored_and_an_announcement_reaches_every_group(db: Path) -> None:
    code, out = gridbot("notices", "create", "--type", "fault", "--areas", "光明村台区", "--start", "now",
                        "--reason", "变压器故障")
    assert code == 0 and "已发往 1 个群" in out and "后续提醒" not in out
    code, out = gridbot("notices", "restore", "1", "--note", "已更换变压器")
    assert code == 0 and out.startswith("通知 1：恢复供电通知已发往 1 个群。")
    assert any("【恢复供电】" in row.text and "说明：已更换变压器" in row.text for row in rows(db))
    code, out = gridbot("notices", "create", "--type", "announcement", "--all", "--text", "营业厅周六照常办公")
    assert code == 0 and out.startswith("通知 2（公告）已发布，已发往 3 个群。")
    code, out = gridbot("notices", "restore", "2")
    assert code == 1 and "通知 2 是公告" in out
    code, out = gridbot("notices", "show", "99")
    assert code == 1 and "没有找到通知 99。" in out


def test_an_announcement_by_tag_and_by_station(db: Path) -> None:
    code, out = gridbot("notices", "create", "--type", "announcement", "--tags", "#小区", "--text", "配电房检修")
    assert code == 0, out
    assert {row.chat_id for row in rows(db)} == {"-1003"}
    code, out = gridbot("notices", "create", "--type", "announcement", "--stations", "示范供电所",
                        "--text", "营业厅搬迁")
    assert code == 0, out
    assert sorted(row.chat_id for row in rows(db)) == ["-1001", "-1002", "-1003"]
    code, out = gridbot("notices", "create", "--type", "announcement", "--stations", "东区供电所", "--text", "x")
    assert code == 1 and "没有名为「东区供电所」的供电所" in out


def test_an_area_without_groups_is_published_with_the_warning(db: Path) -> None:
    code, out = gridbot("notices", "create", "--type", "temporary", "--areas", "李家台区", "--start", days_ahead(3, 9),
                        "--reason", "抢修")
    assert code == 0 and "已发往 0 个群" in out and "没有群绑定到这些台区" in out
    assert rows(db) == []


@pytest.mark.parametrize(("args", "named"), [
    (("--type", "blackout", "--areas", "幸福村台区", "--start", "2099-01-01T08:00", "--reason", "x"), "--type"),
    (("--type", "planned", "--areas", "幸福村台区", "--start", "12月1日", "--reason", "x"), "--start"),
    (("--type", "planned", "--areas", "幸福村台区", "--start", "2099-01-01T08:00", "--end", "later", "--reason", "x"),
     "--end"),
    (("--type", "planned", "--areas", "幸福村台区", "--start", "2099-01-01T08:00", "--end", "2099-01-01T07:00",
      "--reason", "x"), "--end"),
    (("--type", "planned", "--areas", "幸福村台区", "--start", "2020-01-01T08:00", "--reason", "x"), "--start"),
    (("--type", "planned", "--areas", "幸福村台区", "--start", "2099-01-01T08:00"), "--reason"),
    (("--type", "planned", "--start", "2099-01-01T08:00", "--reason", "x"), "--areas"),
    (("--type", "fault", "--areas", "幸福村台区", "--reason", "x"), "--start"),
    (("--type", "announcement", "--all"), "--text"),
    (("--type", "announcement", "--text", "公告"), "--areas"),
    (("--type", "planned", "--areas", "幸福村台区", "--tags", "小区", "--start", "2099-01-01T08:00", "--reason", "x"),
     "--tags"),
])
def test_bad_options_are_named_and_nothing_is_written(db: Path, args: tuple[str, ...], named: str) -> None:
    code, out = gridbot("notices", "create", *args)
    assert code == 2 and named in out and "Traceback" not in out, out
    assert rows(db) == [] and phases(db) == []


def test_unmigrated_database_is_one_line() -> None:
    code, out = gridbot("notices", "create", "--type", "fault", "--areas", "幸福村台区", "--start", "now",
                        "--reason", "故障")
    assert code == 2 and "run `gridbot db upgrade` first" in out
    code, out = gridbot("notices", "list")
    assert code == 2 and "run `gridbot db upgrade` first" in out
