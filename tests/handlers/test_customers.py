"""Customer records and the ledger (台账), on SQLite and PostgreSQL: add/update/view/soft delete with an audit
trail, a customer's data export and erasure, and the import of XLSX and CSV ledgers (mixed good and bad rows,
GB18030, re-import, dry run, a batch failing midway, export round trips)."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from handlers.context import Context
from handlers.customers import ERASED, CustomerError, CustomerService, Rejected, column_for
from handlers.router import handle
from storage.customer_repository import CustomerRecords
from storage.models import Area, Customer, CustomerEvent, Staff, Station, Subscription, TicketEvent
from tests.handlers.helpers import message

HEADER = ["户号", "户名", "联系电话", "用电地址", "台区", "用电类别", "重要等级", "合同容量(kVA)", "电压等级", "备注"]
GOOD = [
    ["3100012345", "张三", "13812345678", "幸福村1组8号", "幸福村台区", "居民生活", "", "8", "220V", "老户"],
    ["3100012346", "幸福村农机合作社", "0571-88886666", "幸福村2组", "幸福村台区", "农业生产", "", "50", "380V", ""],
    ["3100012347001", "光明食品厂", "13912345678", "光明村工业路1号", "光明村台区", "一般工商业", "二级", "315kVA",
     "10kV", ""],
]


@pytest.fixture
def service(ctx: Context) -> CustomerService:
    return CustomerService.from_context(ctx)


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8-sig", header: list[str] = HEADER) -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def customers(engine: Engine, *, live_only: bool = False) -> dict[str, Customer]:
    with Session(engine) as session:
        query = select(Customer)
        if live_only:
            query = query.where(col(Customer.deleted_at).is_(None))
        return {c.account_no or f"#{c.id}": c for c in session.exec(query).all()}


def count(engine: Engine, model: type) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def where(report_rejected: list[Rejected]) -> set[tuple[int, str]]:
    return {(r.row, r.column) for r in report_rejected}


# --- one record -----------------------------------------------------------------------------------------------


def test_add_view_update_delete_keep_an_audit_trail(service: CustomerService, engine: Engine) -> None:
    added = service.add({"account_no": "3100012345", "name": "张三", "phone": "138 1234 5678", "area": "幸福村台区",
                         "usage_category": "居民", "importance": "", "tags": "光伏、低保"})
    assert (added.phone, added.usage_category, added.tags) == ("13812345678", "居民生活", ["光伏", "低保"])
    with pytest.raises(CustomerError, match="已有客户记录"):
        service.add({"account_no": "3100012345", "name": "又一个"})
    record = service.view("3100012345")
    assert (record["name"], record["area"], record["tickets"]) == ("张三", "幸福村台区", 0)
    assert service.view(f"#{added.id}")["account_no"] == "3100012345"

    customer, changed = service.update("3100012345", {"phone": "13912345678", "name": "张三"})
    assert changed == ["phone"] and customer.phone == "13912345678"
    assert service.update("3100012345", {"name": "张三"})[1] == []  # no change, no event

    service.delete("3100012345", reason="销户")
    assert customers(engine, live_only=True) == {}
    with pytest.raises(CustomerError, match="已于"):
        service.delete("3100012345")
    assert service.update("3100012345", {"address": "幸福村1组"})[1] == ["address", "deleted_at"]  # back again
    actions = [(e["action"], e["data"]) for e in service.view("3100012345")["events"]]
    assert actions == [("created", {"fields": ["account_no", "name", "phone", "area_id", "usage_category",
                                               "tags"]}),
                       ("updated", {"fields": ["phone"]}), ("deleted", {"reason": "销户"}),
                       ("updated", {"fields": ["address", "deleted_at"]})]
    assert "13912345678" not in str(actions)  # the audit trail names fields, never their values


@pytest.mark.parametrize(("fields", "reason"), [
    ({"account_no": "310001234"}, "户号应为 10–13 位数字，这里是 9 位"),
    ({"account_no": "31000123456789"}, "这里是 14 位"),
    ({"account_no": "31000A2345"}, "户号只能由数字组成"),
    ({"account_no": "3.10001E+12"}, "科学计数法"),
    ({"account_no": " "}, "户号不能为空"),
    ({"phone": "12345678901"}, "号段不存在"),
    ({"phone": "1381234567"}, "不是有效的手机号或固定电话"),
    ({"usage_category": "工业"}, "不在 居民生活、一般工商业、大工业、农业生产、其他 之中"),
    ({"importance": "三级"}, "不在 特级、一级、二级、一般 之中"),
    ({"locality": "郊区"}, "应为 城市、农村 或 偏远"),
    ({"capacity_kva": "很大"}, "不是数字"),
    ({"capacity_kva": "-5"}, "超出范围"),
    ({"voltage": "高压"}, "应写成 10kV"),
    ({"households": "两千"}, "应为非负整数"),
    ({"name": "张" * 101}, "超过 100 个字"),
    ({"nickname": "x"}, "没有这个字段"),
])
def test_each_bad_value_is_refused_with_its_reason(fields: dict[str, str], reason: str) -> None:
    _values, problems = CustomerService(uow=None).validate(fields)  # type: ignore[arg-type]
    assert len(problems) == 1 and reason in problems[0][1], problems


def test_values_are_normalised() -> None:
    values, problems = CustomerService(uow=None).validate({  # type: ignore[arg-type]
        "account_no": "３１０００１２３４５", "phone": "+86 139-1234-5678", "usage_category": "城乡居民生活用电",
        "importance": "一级重要", "locality": "山区", "capacity_kva": "1,250 千伏安", "voltage": "10 千伏",
        "households": "2300户", "tags": "小区，敏感客户"})
    assert problems == []
    assert values == {"account_no": "3100012345", "phone": "13912345678", "usage_category": "居民生活",
                      "importance": "一级", "locality": "remote", "capacity_kva": 1250.0, "voltage": "10kV",
                      "households": 2300, "tags": ["小区", "敏感客户"]}


def test_headers_of_real_ledgers_are_understood() -> None:
    fields = {header: (column.field if (column := column_for(header)) else None) for header in
              ["用户编号", "*客户编号", "户名", "用户名称", "手机号", "联系电话", "用电地址", "台区名称", "行业分类",
               "重要性", "容量（kVA）", "合同容量(kVA)", "电压等级", "account_no", "Phone", "备注"]}
    assert fields == {"用户编号": "account_no", "*客户编号": "account_no", "户名": "name", "用户名称": "name",
                      "手机号": "phone", "联系电话": "phone", "用电地址": "address", "台区名称": "area",
                      "行业分类": "industry", "重要性": "importance", "容量（kVA）": "capacity_kva",
                      "合同容量(kVA)": "capacity_kva", "电压等级": "voltage", "account_no": "account_no",
                      "Phone": "phone", "备注": None}


def test_unknown_reference_and_manager(service: CustomerService) -> None:
    with pytest.raises(CustomerError, match="没有客户 3100099999"):
        service.view("3100099999")
    with pytest.raises(CustomerError, match="既不是户号也不是客户编号"):
        service.view("张三")
    with pytest.raises(CustomerError, match="找不到在职的客户经理"):
        service.add({"account_no": "3100012345", "manager": "不存在的人"})
    assert customers_count(service) == 0


def customers_count(service: CustomerService) -> int:
    with service.uow() as uow:
        return int(uow.session.exec(select(func.count()).select_from(Customer)).one())


# --- a customer's own data: export and erasure ----------------------------------------------------------------


def test_export_one_and_erase_keep_ticket_statistics_only(ctx: Context, service: CustomerService,
                                                          engine: Engine) -> None:
    handle(message("家里停电了，户号3100012345，电话13812345678，快来修", user="501", name="王大爷"), ctx)
    service.update("3100012345", {"name": "王大爷", "address": "幸福村3组"})
    with Session(engine) as session:
        session.add(Subscription(platform="telegram", user_id="501", chat_id="501", account_no="3100012345",
                                 created_at=datetime.now(UTC)))
        session.commit()

    data = service.export_one("3100012345")
    assert data["customer"]["phone"] == "13812345678" and data["customer"]["name"] == "王大爷"
    assert len(data["tickets"]) == 1 and "家里停电了" in data["tickets"][0]["text"]
    assert data["tickets"][0]["events"][0]["action"] == "opened"
    assert len(data["subscriptions"]) == 1 and [e["action"] for e in data["events"]] == ["updated"]

    summary = service.erase("3100012345")
    assert summary["tickets"] == 1 and summary["subscriptions"] == 1
    assert {"account_no", "name", "phone", "address", "platform", "user_id"} <= set(summary["fields"])
    customer_id = summary["customer_id"]
    with pytest.raises(CustomerError, match="没有客户"):
        service.view("3100012345")  # the 户号 itself is gone
    after = service.export_one(str(customer_id))
    dumped = str(after)
    for personal in ("13812345678", "王大爷", "幸福村3组", "3100012345", "家里停电"):
        assert personal not in dumped
    ticket = after["tickets"][0]
    assert ticket["text"] == ERASED and ticket["kind"] == "repair" and ticket["opened_at"]  # statistics stay
    assert after["subscriptions"] == [] and after["customer"]["deleted_at"]
    assert [e["action"] for e in after["events"]] == ["updated", "erased"]
    with Session(engine) as session:
        notes = [e.note for e in session.exec(select(TicketEvent)).all() if e.actor.startswith("customer:")]
    assert notes and all(note in ("", ERASED) for note in notes)
    with pytest.raises(CustomerError, match="个人信息已删除"):
        service.update(str(customer_id), {"name": "又来了"})


# --- the ledger import ----------------------------------------------------------------------------------------


def test_mixed_good_and_bad_rows_every_bad_one_reported(service: CustomerService, engine: Engine,
                                                        tmp_path: Path) -> None:
    bad = [
        ["31000123", "短户号", "13812345678", "", "", "", "", "", "", ""],  # row 5
        ["3100012349", "坏电话", "13012", "", "", "工业", "", "", "", ""],  # row 6: two bad cells
        ["3100012345", "重复户号", "13812345670", "", "", "", "", "", "", ""],  # row 7
        ["", "没有户号", "", "", "", "", "", "", "", ""],  # row 8
        ["", "", "", "", "", "", "", "", "", ""],  # row 9: blank, skipped silently
        ["3100012350", "坏容量", "19912345678", "", "", "", "三级", "很大", "高压", ""],  # row 10: three
    ]
    path = write_csv(tmp_path / "台账.csv", GOOD + bad)
    report = service.import_ledger(path)
    assert (report.rows, report.created, report.rejected_rows) == (8, 3, 5)
    assert where(report.rejected) == {(5, "户号"), (6, "联系电话"), (6, "用电类别"), (7, "户号"), (8, "户号"),
                                      (10, "重要等级"), (10, "合同容量(kVA)"), (10, "电压等级")}
    lines = report.lines()
    assert "第 7 行「户号」列：户号与第 2 行重复（以第 2 行为准）" in lines
    assert "第 8 行「户号」列：户号为空" in lines
    assert "未识别的列（已忽略）：备注" in lines
    assert "新建台区 2 个：幸福村台区、光明村台区" in lines
    assert lines[-1] == "台账.csv：读取 8 行，新增 3，更新 0，未变 0，拒绝 5 行。"
    assert "13012" not in "\n".join(lines)  # a quoted phone is masked
    stored = customers(engine)
    assert set(stored) == {"3100012345", "3100012346", "3100012347001"}
    assert stored["3100012345"].name == "张三"  # the first of the duplicates wins
    factory = stored["3100012347001"]
    assert (factory.capacity_kva, factory.voltage, factory.importance, factory.phone) == (315.0, "10kV", "二级",
                                                                                           "13912345678")
    assert stored["3100012346"].phone == "0571-88886666"
    with Session(engine) as session:
        areas = {a.name for a in session.exec(select(Area)).all()}
        events = session.exec(select(CustomerEvent)).all()
    assert areas == {"幸福村台区", "光明村台区"}
    assert len(events) == 3 and all(e.action == "imported" and e.data["created"] for e in events)


def test_xlsx_with_a_title_row_number_cells_and_a_chosen_sheet(service: CustomerService, engine: Engine,
                                                               tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["请在“台账”页填写"])
    sheet = book.create_sheet("台账")
    sheet.append(["幸福村供电所客户台账（2026年11月）"])
    sheet.append(["用户编号", "用户名称", "手机号", "地址", "台区名称", "用电类别", "合同容量", "户数", "负责人"])
    sheet.append([3100012345, "张三", 13812345678, "幸福村1组", "幸福村台区", "居民生活", 8, None, None])
    sheet.append([3100012346.0, "阳光小区", "", "阳光路9号", "阳光台区", "居民生活", 2500.5, 2300, ""])
    sheet.append([31000123, "短", "", "", "", "", "", "", ""])
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    with pytest.raises(CustomerError, match="前 10 行里找不到户号列"):
        service.import_ledger(path)  # the first sheet has no header
    with pytest.raises(CustomerError, match="没有名为“第三页”的工作表；有：说明、台账"):
        service.import_ledger(path, sheet="第三页")
    report = service.import_ledger(path, sheet="台账")
    assert report.rejected == [Rejected(5, "用户编号", "户号应为 10–13 位数字，这里是 8 位")]
    assert report.ignored_columns == ["负责人"] and report.created == 2
    stored = customers(engine)
    assert stored["3100012345"].phone == "13812345678"
    assert (stored["3100012346"].households, stored["3100012346"].capacity_kva) == (2300, 2500.5)


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8", "utf-8-sig"])
def test_csv_encodings_chinese_excel_writes(service: CustomerService, engine: Engine, tmp_path: Path,
                                            encoding: str) -> None:
    rows = [["3100012345", "王䶮", "13812345678", "幸福村", "幸福村台区", "居民生活", "", "", "", ""]]
    report = service.import_ledger(write_csv(tmp_path / "a.csv", rows, encoding=encoding))
    assert report.ok and customers(engine)["3100012345"].name == "王䶮"


def test_reimport_updates_instead_of_duplicating(service: CustomerService, engine: Engine, tmp_path: Path) -> None:
    service.import_ledger(write_csv(tmp_path / "v1.csv", GOOD))
    service.delete("3100012346")
    changed = [row[:] for row in GOOD]
    changed[0][2] = "13987654321"
    report = service.import_ledger(write_csv(tmp_path / "v2.csv", changed))
    assert (report.created, report.updated, report.unchanged) == (0, 2, 1)  # the deleted one comes back
    stored = customers(engine, live_only=True)
    assert len(stored) == 3 and stored["3100012345"].phone == "13987654321"
    assert stored["3100012345"].updated_at is not None
    assert count(engine, Customer) == 3
    with Session(engine) as session:
        imported = [e.data for e in session.exec(select(CustomerEvent).where(CustomerEvent.action == "imported"))
                    if "changed" in e.data]
    assert sorted(map(str, (d["changed"] for d in imported))) == ["['deleted_at']", "['phone']"]


def test_a_missing_column_leaves_that_field_alone(service: CustomerService, engine: Engine, tmp_path: Path) -> None:
    service.import_ledger(write_csv(tmp_path / "v1.csv", GOOD))
    report = service.import_ledger(write_csv(tmp_path / "names.csv", [["3100012345", "张三丰"]],
                                             header=["户号", "户名"]))
    assert report.updated == 1
    assert (customers(engine)["3100012345"].name, customers(engine)["3100012345"].phone) == ("张三丰", "13812345678")


def test_dry_run_writes_nothing(service: CustomerService, engine: Engine, tmp_path: Path) -> None:
    report = service.import_ledger(write_csv(tmp_path / "a.csv", [*GOOD, ["1", "", "", "", "", "", "", "", "", ""]]),
                                   dry_run=True)
    assert (report.created, report.rejected_rows, report.new_areas) == (3, 1, ["幸福村台区", "光明村台区"])
    assert report.lines()[-1] == "试运行：没有写入数据库。"
    assert "将新建台区 2 个：幸福村台区、光明村台区" in report.lines()
    assert [count(engine, model) for model in (Customer, CustomerEvent, Area, Station)] == [0, 0, 0, 0]


def test_a_batch_failing_midway_keeps_earlier_batches_and_nothing_of_its_own(
        service: CustomerService, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = [[f"{3100000000 + i}", f"户{i}", "", "", "幸福村台区", "", "", "", "", ""] for i in range(7)]
    real = CustomerRecords.add_events
    calls = []

    def failing(self: CustomerRecords, events: Any) -> None:
        calls.append(len(events))
        if len(calls) == 2:  # the second batch: its customers are already inserted when this fails
            raise OperationalError("INSERT INTO customer_event", {}, Exception("disk I/O error"))
        real(self, events)

    monkeypatch.setattr(CustomerRecords, "add_events", failing)
    service.batch_rows = 3
    report = service.import_ledger(write_csv(tmp_path / "a.csv", rows))
    assert report.failure is not None and "第 5–7 行这一批写入失败" in report.failure
    assert "请从第 5 行起重新导入" in report.failure
    assert sorted(customers(engine)) == ["3100000000", "3100000001", "3100000002"]
    assert count(engine, CustomerEvent) == 3 and len(calls) == 2  # the third batch was never tried
    assert report.created == 3


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export_round_trips_through_import(service: CustomerService, engine: Engine, tmp_path: Path,
                                           suffix: str) -> None:
    with Session(engine) as session:
        session.add(Staff(platform="telegram", user_id="900001", name="李经理", role="grid_manager",
                          created_at=datetime.now(UTC)))
        session.commit()
    service.import_ledger(write_csv(tmp_path / "v1.csv", GOOD))
    service.update("3100012347001", {"industry": "食品制造业", "locality": "城市", "households": "",
                                     "manager": "李经理", "tags": "重要客户、光伏"})
    service.add({"account_no": "3100012399", "name": "阳光小区", "households": "2300", "phone": ""})
    service.delete("3100012346")  # deleted records stay out of the ledger
    before = {no: c.model_dump(exclude={"id", "created_at", "updated_at"}) for no, c in
              customers(engine, live_only=True).items()}

    written, skipped = service.export_ledger(tmp_path / f"out{suffix}")
    assert (written, skipped) == (3, 0)
    assert service.import_ledger(tmp_path / f"out{suffix}").unchanged == 3  # nothing differs

    with engine.begin() as conn:  # a fresh station: the ledger alone recreates the records
        conn.execute(CustomerEvent.__table__.delete())  # type: ignore[attr-defined]
        conn.execute(Customer.__table__.delete())  # type: ignore[attr-defined]
    report = service.import_ledger(tmp_path / f"out{suffix}")
    assert report.ok and report.created == 3
    after = {no: c.model_dump(exclude={"id", "created_at", "updated_at"}) for no, c in customers(engine).items()}
    assert after == before


def test_files_that_cannot_be_read(service: CustomerService, tmp_path: Path) -> None:
    with pytest.raises(CustomerError, match="找不到文件"):
        service.import_ledger(tmp_path / "nope.csv")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(CustomerError, match=r"旧的 \.xls 请先在 Excel 里另存为 \.xlsx"):
        service.import_ledger(tmp_path / "old.xls")
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(CustomerError, match="无法读取 Excel 文件"):
        service.import_ledger(tmp_path / "broken.xlsx")
    (tmp_path / "latin.csv").write_bytes("户号\n".encode() + b"\xff\xfe\xfd\n")
    with pytest.raises(CustomerError, match="既不是 UTF-8 也不是 GB18030"):
        service.import_ledger(tmp_path / "latin.csv")
    write_csv(tmp_path / "a.csv", GOOD)
    with pytest.raises(CustomerError, match=r"--sheet 只用于 \.xlsx"):
        service.import_ledger(tmp_path / "a.csv", sheet="台账")
    with pytest.raises(CustomerError, match=r"请用 \.xlsx 或 \.csv"):
        service.export_ledger(tmp_path / "out.txt")


def test_manager_column_resolves_staff(service: CustomerService, engine: Engine, tmp_path: Path) -> None:
    with Session(engine) as session:
        for user_id, name in (("900001", "李经理"), ("900002", "王经理"), ("900003", "王经理")):
            session.add(Staff(platform="telegram", user_id=user_id, name=name, role="grid_manager",
                              created_at=datetime.now(UTC)))
        session.commit()
    rows = [["3100012345", "李经理"], ["3100012346", "telegram:900002"], ["3100012347", "王经理"],
            ["3100012348", "赵经理"]]
    report = service.import_ledger(write_csv(tmp_path / "m.csv", rows, header=["户号", "台区经理"]))
    assert [r.line() for r in report.rejected] == [
        "第 4 行「台区经理」列：“王经理”对应多名员工，请写成 平台:用户ID，如 telegram:900001",
        "第 5 行「台区经理」列：找不到在职的客户经理“赵经理”（用 gridbot staff add 登记）"]
    stored = customers(engine)
    assert stored["3100012345"].manager_id != stored["3100012346"].manager_id
    assert None not in (stored["3100012345"].manager_id, stored["3100012346"].manager_id)
