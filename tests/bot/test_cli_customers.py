"""`gridbot customers …` end to end through the typer app, on SQLite and PostgreSQL: every command, its bad
answers and exit codes, and the ledger import/export as the operator sees it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from storage.models import Customer, CustomerEvent
from tests.cli_helpers import gridbot, isolate

HEADER = ["户号", "户名", "联系电话", "用电地址", "台区", "用电类别", "备注"]
ROWS = [
    ["3100012345", "张三", "13812345678", "幸福村1组", "幸福村台区", "居民生活", ""],
    ["3100012346", "李四", "13012", "幸福村2组", "幸福村台区", "居民", ""],
    ["3100012347", "王五", "13912345678", "光明村", "光明村台区", "一般工商业", "x"],
]


@pytest.fixture(autouse=True)
def database(engine: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Engine:
    """The commands run against the test's migrated database (SQLite or a PostgreSQL schema), in tmp_path."""
    isolate(monkeypatch, tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        url += ("&" if "?" in url else "?") + "options=" + quote(f"-csearch_path={schema}")
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    return engine


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def stored(engine: Engine) -> dict[str, Customer]:
    with Session(engine) as session:
        return {c.account_no or f"#{c.id}": c for c in session.exec(select(Customer)).all()}


def test_add_show_update_delete_erase_export_one(database: Engine, tmp_path: Path) -> None:
    code, out = gridbot("customers", "add", "--account-no", "3100012345", "--name", "张三", "--phone", "13812345678",
                        "--area", "幸福村台区", "--category", "居民", "--tags", "光伏,低保")
    assert code == 0 and out.startswith("客户 #") and out.strip().endswith("：户号 3100012345 张三 已建档。"), out
    code, out = gridbot("customers", "show", "3100012345")
    assert code == 0
    assert "联系电话：13812345678" in out and "台区：幸福村台区" in out and "用电类别：居民生活" in out
    assert "标签：光伏、低保" in out and "created" in out
    code, out = gridbot("customers", "show", "3100012345", "--json")
    record = json.loads(out)
    assert record["account_no"] == "3100012345" and record["tickets"] == 0

    code, out = gridbot("customers", "update", "3100012345", "--phone", "13912345678", "--locality", "农村")
    assert code == 0 and "已修改：联系电话、城乡类别" in out
    code, out = gridbot("customers", "update", "3100012345", "--phone", "13912345678")
    assert code == 0 and "没有变化" in out

    code, out = gridbot("customers", "delete", "3100012345", "--reason", "销户")
    assert code == 0 and "已删除" in out
    code, out = gridbot("customers", "show", f"#{record['id']}")
    assert "删除时间" in out

    path = tmp_path / "张三.json"
    code, out = gridbot("customers", "export-one", "3100012345", "--output", str(path))
    assert code == 0 and "工单 0 张" in out
    exported = json.loads(path.read_text(encoding="utf-8"))
    assert exported["customer"]["phone"] == "13912345678"
    assert [e["action"] for e in exported["events"]] == ["created", "updated", "deleted"]
    code, out = gridbot("customers", "export-one", "3100012345")
    assert json.loads(out)["customer"]["name"] == "张三"

    code, out = gridbot("customers", "erase", "3100012345", stdin="n\n")
    assert code == 1 and stored(database)["3100012345"].name == "张三"  # not confirmed: nothing erased
    code, out = gridbot("customers", "erase", "3100012345", "--yes")
    assert code == 0 and "的个人信息已删除" in out
    (erased,) = stored(database).values()
    assert (erased.account_no, erased.name, erased.phone) == (None, "", None)
    with Session(database) as session:
        assert [e.action for e in session.exec(select(CustomerEvent)).all()][-1] == "erased"


@pytest.mark.parametrize(("args", "code", "message"), [
    (["customers", "add", "--account-no", "310001234"], 1, "户号：户号应为 10–13 位数字，这里是 9 位"),
    (["customers", "add", "--account-no", "3100012345", "--phone", "12345678901"], 1, "联系电话：手机号 123****8901"),
    (["customers", "add", "--account-no", "3100012345", "--category", "工业"], 1, "用电类别：用电类别“工业”不在"),
    (["customers", "add", "--account-no", "3100012345", "--importance", "三级"], 1, "重要等级“三级”不在"),
    (["customers", "add", "--name", "张三"], 2, "--account-no"),
    (["customers", "update", "3100012345"], 2, "name at least one field"),
    (["customers", "update", "3100099999", "--name", "x"], 1, "gridbot: 没有客户 3100099999"),
    (["customers", "show", "3100099999"], 1, "gridbot: 没有客户 3100099999"),
    (["customers", "show", "张三"], 1, "既不是户号也不是客户编号"),
    (["customers", "delete", "42"], 1, "没有客户 42"),
    (["customers", "erase", "42", "--yes"], 1, "没有客户 42"),
    (["customers", "export-one", "42"], 1, "没有客户 42"),
    (["customers", "import", "nope.csv"], 1, "找不到文件"),
    (["customers", "export", "out.txt"], 1, "请用 .xlsx 或 .csv"),
])
def test_bad_answers(args: list[str], code: int, message: str) -> None:
    got, out = gridbot(*args)
    assert (got, message in out) == (code, True), out


def test_delete_twice_is_refused() -> None:
    assert gridbot("customers", "add", "--account-no", "3100012345")[0] == 0
    assert gridbot("customers", "delete", "3100012345")[0] == 0
    code, out = gridbot("customers", "delete", "3100012345")
    assert code == 1 and "已于" in out


def test_import_reports_rejected_rows_and_exit_codes(database: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "台账.csv", ROWS)
    code, out = gridbot("customers", "import", str(path), "--dry-run")
    assert code == 1 and "试运行：没有写入数据库。" in out and stored(database) == {}

    code, out = gridbot("customers", "import", str(path))
    lines = out.splitlines()
    assert code == 1
    assert lines[0] == "第 3 行「联系电话」列：电话号码位数不对（5 位），手机号是 11 位，固定电话如 0571-88888888"
    assert "未识别的列（已忽略）：备注" in lines
    assert lines[-1] == "台账.csv：读取 3 行，新增 2，更新 0，未变 0，拒绝 1 行。"
    assert sorted(stored(database)) == ["3100012345", "3100012347"]

    fixed = write_csv(tmp_path / "fixed.csv", [ROWS[0], [*ROWS[1][:2], "13012345678", *ROWS[1][3:]]],
                      encoding="gb18030")
    code, out = gridbot("customers", "import", str(fixed), "--json")
    report = json.loads(out)
    assert code == 0 and (report["created"], report["unchanged"], report["rejected"]) == (1, 1, [])
    assert stored(database)["3100012346"].usage_category == "居民生活"


def test_export_and_import_again(database: Engine, tmp_path: Path) -> None:
    gridbot("customers", "import", str(write_csv(tmp_path / "a.csv", [ROWS[0], ROWS[2]])))
    for name in ("ledger.xlsx", "ledger.csv"):
        code, out = gridbot("customers", "export", name)
        assert code == 0 and out.strip() == f"{name}：导出 2 户。"
        code, out = gridbot("customers", "import", name)
        assert code == 0 and "新增 0，更新 0，未变 2，拒绝 0 行" in out
    sheet = openpyxl.load_workbook(tmp_path / "ledger.xlsx", read_only=True).worksheets[0]
    header, first = list(sheet.iter_rows(values_only=True))[:2]
    assert header[:3] == ("户号", "户名", "联系电话") and first[:3] == ("3100012345", "张三", "13812345678")
    assert (tmp_path / "ledger.csv").read_bytes().startswith(b"\xef\xbb\xbf\xe6\x88\xb7\xe5\x8f\xb7")  # BOM, 户号


def test_xlsx_sheet_option(database: Engine, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "说明"
    sheet = book.create_sheet("台账")
    sheet.append(HEADER)
    sheet.append(ROWS[0])
    book.save(tmp_path / "a.xlsx")
    code, out = gridbot("customers", "import", "a.xlsx")
    assert code == 1 and "找不到户号列" in out
    code, out = gridbot("customers", "import", "a.xlsx", "--sheet", "无此页")
    assert code == 1 and "没有名为“无此页”的工作表" in out
    code, out = gridbot("customers", "import", "a.xlsx", "--sheet", "台账")
    assert code == 0 and "新增 1" in out


def test_an_unmigrated_database_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path, "fresh.db")
    code, out = gridbot("customers", "show", "3100012345")
    assert code == 2 and "run `gridbot db upgrade` first" in out
