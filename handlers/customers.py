"""Customer records (客户管理) and the station's ledger (台账).

One record: add, update, view, soft delete (with an audit event), export everything stored about a customer and
erase it on request (个人信息保护: personal fields blanked, ticket statistics kept). The ledger: import an XLSX or
CSV file with the usual Chinese column names, report every rejected row by row number, column and reason, and
upsert the valid rows by 户号 in one transaction per batch; export it again in the same columns.

Platform-neutral: the CLI calls this today, the managers' chat commands later. Texts are Chinese, like the
ledgers they describe.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from handlers.context import Context, utc_now
from handlers.privacy import ascii_digits, is_mobile, mask_phone
from storage.customer_repository import LEDGER_FIELDS
from storage.models import Customer, CustomerEvent
from storage.uow import UnitOfWork

# 户号: State Grid's are 10 digits (this station's too); some provinces' marketing systems issue 13, and merged
# or migrated ledgers carry 11 and 12. Anything from 10 to 13 ASCII digits is accepted. (The chat extractor,
# handlers/extraction.py, recognises 10 and 13 in free text, where other lengths would catch phone numbers.)
ACCOUNT_NO_MIN_DIGITS = 10
ACCOUNT_NO_MAX_DIGITS = 13
USAGE_CATEGORIES = ("居民生活", "一般工商业", "大工业", "农业生产", "其他")
IMPORTANCE_GRADES = ("特级", "一级", "二级", "一般")
LOCALITIES = {"city": "城市", "rural": "农村", "remote": "偏远"}
BATCH_ROWS = 1000  # rows written per transaction by the import
ERASED = "（已按本人要求删除）"  # what an erased customer's ticket texts read afterwards
HEADER_SEARCH_ROWS = 10  # a title row or two above the header is skipped

_USAGE_SYNONYMS = {
    "居民": "居民生活", "居民生活用电": "居民生活", "城乡居民生活用电": "居民生活", "乡村居民生活用电": "居民生活",
    "城镇居民生活用电": "居民生活", "城镇居民": "居民生活", "乡村居民": "居民生活", "居民用电": "居民生活",
    "工商业": "一般工商业", "一般工商业用电": "一般工商业", "一般工商业及其他用电": "一般工商业",
    "非居民": "一般工商业", "非居民照明": "一般工商业", "商业": "一般工商业", "非工业": "一般工商业",
    "普通工业": "一般工商业", "大工业用电": "大工业", "农业": "农业生产", "农业生产用电": "农业生产",
    "农业排灌": "农业生产", "其它": "其他",
}
_IMPORTANCE_SYNONYMS = {"特级重要": "特级", "一级重要": "一级", "二级重要": "二级", "普通": "一般", "非重要": "一般",
                        "无": "一般", "特级重要用户": "特级", "一级重要用户": "一级", "二级重要用户": "二级"}
_LOCALITY_SYNONYMS = {"城市": "city", "市区": "city", "城区": "city", "城镇": "city", "city": "city",
                      "农村": "rural", "乡村": "rural", "rural": "rural", "偏远": "remote", "山区": "remote",
                      "偏远地区": "remote", "remote": "remote"}
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}(?:-\d{1,6})?")
_SCIENTIFIC = re.compile(r"\d+(?:\.\d+)?[eE][+]?\d+")
_VOLTAGE = re.compile(r"(\d+(?:\.\d+)?)\s*(kv|千伏|v|伏)", re.IGNORECASE)
_UNIT_SUFFIX = re.compile(r"\s*(kva|千伏安)$", re.IGNORECASE)
_TAG_SPLIT = re.compile(r"[,，、;；\s]+")


class CustomerError(ValueError):
    """A request that cannot be done; the message is for the person who asked."""


class Invalid(ValueError):
    """One value that fails validation; the message is the reason, in Chinese."""


@dataclass(frozen=True, slots=True)
class Column:
    field: str  # the model field, or "area" / "manager" resolved to an id
    header: str  # the header written by the export
    aliases: tuple[str, ...]  # other headers read by the import (the field name is always read too)
    parse: Callable[[str], Any]
    text_default: bool = False  # NOT NULL text: empty is "", not None


def _account_no(raw: str) -> str:
    value = ascii_digits(raw).strip().replace(" ", "")
    if _SCIENTIFIC.fullmatch(value):
        raise Invalid(f"户号“{raw}”是科学计数法，Excel 把长数字改写了：请把该列设为“文本”后重新填写")
    if value.endswith(".0") and value[:-2].isdigit():  # a number cell read as a float
        value = value[:-2]
    if not value.isascii() or not value.isdigit():
        raise Invalid("户号只能由数字组成")
    if not ACCOUNT_NO_MIN_DIGITS <= len(value) <= ACCOUNT_NO_MAX_DIGITS:
        raise Invalid(f"户号应为 {ACCOUNT_NO_MIN_DIGITS}–{ACCOUNT_NO_MAX_DIGITS} 位数字，这里是 {len(value)} 位")
    return value


def _phone(raw: str) -> str | None:
    value = ascii_digits(raw).strip()
    if not value:
        return None
    if value.endswith(".0"):
        value = value[:-2]
    compact = re.sub(r"[\s\-()（）]", "", value)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    elif len(compact) == 13 and compact.startswith("86"):
        compact = compact[2:]
    if compact.isdigit() and len(compact) == 11 and compact.startswith("1"):
        if is_mobile(compact):
            return compact
        raise Invalid(f"手机号 {mask_phone(compact)} 的号段不存在")
    digits = sum(ch.isdigit() for ch in compact)
    if not 7 <= digits <= 16:
        raise Invalid(f"电话号码位数不对（{digits} 位），手机号是 11 位，固定电话如 0571-88888888")
    landline = re.sub(r"[\s()（）]", "", value).replace("—", "-")
    if _LANDLINE.fullmatch(landline):
        return landline
    raise Invalid(f"“{mask_phone(value)}”不是有效的手机号或固定电话（如 13812345678、0571-88888888）")


def _text(limit: int, what: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = " ".join(raw.split())
        if len(value) > limit:
            raise Invalid(f"{what}超过 {limit} 个字")
        return value
    return parse


def _optional_text(limit: int, what: str) -> Callable[[str], str | None]:
    strict = _text(limit, what)

    def parse(raw: str) -> str | None:
        return strict(raw) or None
    return parse


def _one_of(choices: tuple[str, ...], synonyms: dict[str, str], what: str) -> Callable[[str], str | None]:
    def parse(raw: str) -> str | None:
        value = "".join(raw.split())
        if not value:
            return None
        value = synonyms.get(value, value)
        if value not in choices:
            raise Invalid(f"{what}“{raw.strip()}”不在 {'、'.join(choices)} 之中")
        return value
    return parse


def _locality(raw: str) -> str | None:
    value = "".join(raw.split()).lower()
    if not value:
        return None
    if value not in _LOCALITY_SYNONYMS:
        raise Invalid(f"城乡类别“{raw.strip()}”应为 城市、农村 或 偏远")
    return _LOCALITY_SYNONYMS[value]


def _capacity(raw: str) -> float | None:
    value = _UNIT_SUFFIX.sub("", ascii_digits(raw).strip().replace(",", ""))
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise Invalid(f"合同容量“{raw.strip()}”不是数字（单位 kVA）") from None
    if not 0 <= number <= 10_000_000:
        raise Invalid(f"合同容量 {raw.strip()} 超出范围（0–10000000 kVA）")
    return number


def _voltage(raw: str) -> str | None:
    value = ascii_digits(raw).strip()
    if not value:
        return None
    found = _VOLTAGE.fullmatch(value.replace("交流", "").replace("AC", "").strip())
    if found is None:
        raise Invalid(f"电压等级“{value}”应写成 10kV、0.4kV、380V、220V 这样")
    number, unit = found.groups()
    return f"{number}{'kV' if unit.lower() in ('kv', '千伏') else 'V'}"


def _households(raw: str) -> int | None:
    value = ascii_digits(raw).strip().replace(",", "").removesuffix("户")
    if value.endswith(".0"):
        value = value[:-2]
    if not value:
        return None
    if not value.isdigit():
        raise Invalid(f"户数“{raw.strip()}”应为非负整数")
    return int(value)


def _tags(raw: str) -> list[str]:
    tags: list[str] = []
    for tag in _TAG_SPLIT.split(raw.strip()):
        if tag and tag not in tags:
            if len(tag) > 20:
                raise Invalid(f"标签“{tag}”超过 20 个字")
            tags.append(tag)
    return tags


COLUMNS: tuple[Column, ...] = (
    Column("account_no", "户号", ("用户编号", "客户编号", "户编号", "用户号", "电费户号", "客户号"), _account_no),
    Column("name", "户名", ("用户名称", "客户名称", "用户名", "姓名", "客户姓名"), _text(100, "户名"), True),
    Column("phone", "联系电话", ("手机号", "手机号码", "电话", "联系方式", "手机", "移动电话", "电话号码"), _phone),
    Column("address", "用电地址", ("地址", "用户地址", "住址", "客户地址"), _text(300, "用电地址"), True),
    Column("area", "台区", ("台区名称", "所属台区"), _optional_text(100, "台区名称")),
    Column("usage_category", "用电类别", ("用电分类",), _one_of(USAGE_CATEGORIES, _USAGE_SYNONYMS, "用电类别")),
    Column("industry", "行业分类", ("行业", "行业类别", "所属行业"), _optional_text(50, "行业分类")),
    Column("importance", "重要等级", ("重要性", "重要用户等级", "重要客户等级", "重要性等级"),
           _one_of(IMPORTANCE_GRADES, _IMPORTANCE_SYNONYMS, "重要等级")),
    Column("locality", "城乡类别", ("城乡", "城乡标志", "地区类型", "区域类型"), _locality),
    Column("capacity_kva", "合同容量(kVA)", ("合同容量", "容量", "容量(kVA)", "运行容量", "合同容量(千伏安)"),
           _capacity),
    Column("voltage", "电压等级", ("供电电压", "电压"), _voltage),
    Column("households", "户数", ("小区户数", "住户数"), _households),
    Column("manager", "客户经理", ("台区经理", "责任人", "客户经理姓名"), _optional_text(100, "客户经理")),
    Column("tags", "标签", (), _tags),
)
_BY_FIELD = {column.field: column for column in COLUMNS}


def _header_key(header: str) -> str:
    key = "".join(header.split()).lower().replace("（", "(").replace("）", ")").strip("*＊")
    return key.replace("manager_id", "manager").replace("area_id", "area")


_HEADER_INDEX: dict[str, Column] = {}
for _column in COLUMNS:
    for _name in (_column.header, _column.field, *_column.aliases):
        _HEADER_INDEX[_header_key(_name)] = _column


def column_for(header: str) -> Column | None:
    """The column a ledger header means, "（kVA）"-style units and required-field stars aside."""
    key = _header_key(header)
    return _HEADER_INDEX.get(key) or _HEADER_INDEX.get(re.sub(r"\(.*\)$", "", key))


# --- reading the file -----------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


@dataclass
class Sheet:
    """A ledger file opened for reading: its data rows as (Excel row number, cells as text)."""

    rows: Iterator[tuple[int, list[str]]]
    total: int | None  # data rows, when known beforehand (for the progress bar)
    name: str


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, which Chinese Excel writes for 'CSV'."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise CustomerError("文件既不是 UTF-8 也不是 GB18030 编码，请用 Excel“另存为 CSV UTF-8”后再导入") from None


def open_ledger(path: Path, sheet: str | None = None) -> Sheet:
    suffix = path.suffix.lower()
    if not path.is_file():
        raise CustomerError(f"找不到文件 {path}")
    if suffix == ".csv":
        if sheet:
            raise CustomerError("CSV 文件没有工作表，--sheet 只用于 .xlsx")
        text = _decode(path.read_bytes())
        first = text.split("\n", 1)[0]
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = ((number, [cell.strip() for cell in record]) for number, record in enumerate(reader, start=1))
        return Sheet(rows, max(text.count("\n") - 1, 0), path.name)
    if suffix in (".xlsx", ".xlsm"):
        return _open_xlsx(path, sheet)
    raise CustomerError(f"不支持的文件类型“{path.suffix}”：请用 .xlsx 或 .csv（旧的 .xls 请先在 Excel 里另存为 .xlsx）")


def _open_xlsx(path: Path, sheet: str | None) -> Sheet:
    import zipfile

    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise CustomerError(f"无法读取 Excel 文件 {path.name}：{exc}") from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise CustomerError(f"没有名为“{sheet}”的工作表；有：{'、'.join(book.sheetnames)}")
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]
    total = worksheet.max_row - 1 if isinstance(worksheet.max_row, int) and worksheet.max_row > 1 else None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                yield number, [_cell(value) for value in values]
        finally:
            book.close()
    return Sheet(rows(), total, f"{path.name}:{worksheet.title}")


# --- the import -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rejected:
    row: int  # as Excel shows it, the header being row 1 (or lower, under title rows)
    column: str  # the header text as written in the file ("" when the row as a whole is wrong)
    reason: str

    def line(self) -> str:
        where = f"第 {self.row} 行" + (f"「{self.column}」列" if self.column else "")
        return f"{where}：{self.reason}"


@dataclass
class ImportReport:
    file: str
    dry_run: bool
    rows: int = 0  # data rows read (blank rows skipped)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    rejected_rows: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    new_areas: list[str] = field(default_factory=list)
    failure: str | None = None  # a batch that could not be written: the import stopped there

    @property
    def ok(self) -> bool:
        return self.failure is None and not self.rejected

    def lines(self) -> list[str]:
        out = [rejected.line() for rejected in self.rejected]
        if self.ignored_columns:
            out.append(f"未识别的列（已忽略）：{'、'.join(self.ignored_columns)}")
        if self.new_areas:
            verb = "将新建" if self.dry_run else "新建"
            out.append(f"{verb}台区 {len(self.new_areas)} 个：{'、'.join(self.new_areas[:20])}"
                       + ("……" if len(self.new_areas) > 20 else ""))
        verb = "将" if self.dry_run else ""
        out.append(f"{self.file}：读取 {self.rows} 行，{verb}新增 {self.created}，{verb}更新 {self.updated}，"
                   f"未变 {self.unchanged}，拒绝 {self.rejected_rows} 行。")
        if self.failure:
            out.append(self.failure)
        if self.dry_run:
            out.append("试运行：没有写入数据库。")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "dry_run": self.dry_run, "rows": self.rows, "created": self.created,
                "updated": self.updated, "unchanged": self.unchanged, "rejected_rows": self.rejected_rows,
                "rejected": [{"row": r.row, "column": r.column, "reason": r.reason} for r in self.rejected],
                "ignored_columns": self.ignored_columns, "new_areas": self.new_areas, "failure": self.failure}


@dataclass
class _Pending:
    row: int
    values: dict[str, Any]  # the ledger fields present in the file; area and manager still as names


@dataclass
class CustomerService:
    """Customer records against one database; `station_name` owns the 台区 a ledger names."""

    uow: Callable[[], UnitOfWork]
    station_name: str = "示范供电所"
    default_area_type: str = "rural"
    clock: Callable[[], datetime] = utc_now
    batch_rows: int = BATCH_ROWS

    @classmethod
    def from_context(cls, ctx: Context) -> CustomerService:
        return cls(ctx.uow, ctx.station_name, ctx.default_area_type, ctx.clock)

    # --- the ledger import ------------------------------------------------------------------------------------

    def import_ledger(self, path: Path, *, sheet: str | None = None, dry_run: bool = False, actor: str = "import",
                      on_start: Callable[[int | None], None] | None = None,
                      on_progress: Callable[[int], None] | None = None) -> ImportReport:
        """Validate every row, then upsert the valid ones by 户号, `batch_rows` per transaction.

        A batch that fails is rolled back whole and the import stops there: earlier batches stay, nothing of
        that batch or later is written, and the report says from which row on to import again.
        """
        opened = open_ledger(path, sheet)
        report = ImportReport(opened.name, dry_run)
        layout = self._header(opened, report)
        if on_start is not None:
            on_start(opened.total - layout.row + 1 if opened.total is not None else None)
        lookups = self._lookups(dry_run)
        first_seen: dict[str, int] = {}
        batch: list[_Pending] = []
        done = 0
        for number, cells in opened.rows:
            done += 1
            if not any(cells):
                continue
            report.rows += 1
            pending = self._row(number, cells, layout, report, first_seen, lookups)
            if pending is not None:
                batch.append(pending)
            if len(batch) >= self.batch_rows:
                if not self._write(batch, lookups, report, actor):
                    return report
                batch = []
                if on_progress is not None:
                    on_progress(done)
        if batch:
            self._write(batch, lookups, report, actor)
        if on_progress is not None:
            on_progress(done)
        return report

    @staticmethod
    def _header(opened: Sheet, report: ImportReport) -> _Layout:
        for number, cells in opened.rows:
            columns = [column_for(cell) if cell else None for cell in cells]
            if any(column is not None and column.field == "account_no" for column in columns):
                seen: set[str] = set()
                for index, (cell, column) in enumerate(zip(cells, columns, strict=True)):
                    if column is None:
                        if cell:
                            report.ignored_columns.append(cell)
                    elif column.field in seen:
                        report.ignored_columns.append(f"{cell}（与前面的列重复）")
                        columns[index] = None
                    else:
                        seen.add(column.field)
                return _Layout(number, columns, cells)
            if number >= HEADER_SEARCH_ROWS:
                break
        names = "、".join((_BY_FIELD["account_no"].header, *_BY_FIELD["account_no"].aliases))
        raise CustomerError(f"{opened.name}：前 {HEADER_SEARCH_ROWS} 行里找不到户号列（列名可以是 {names}）")

    def _lookups(self, dry_run: bool) -> _Lookups:
        with self.uow() as uow:
            station = uow.stations.get_or_create(self.station_name)
            areas = uow.customer_records.area_ids(station.id or 0)
            staff = uow.customer_records.staff()
            accounts = uow.customer_records.account_ids()
            if not dry_run:  # a dry run creates nothing, not even the station
                uow.commit()
        managers: dict[str, int | None] = {}
        for person in staff:
            for key in (person.name, f"{person.platform}:{person.user_id}", person.user_id):
                # A name two active people share cannot pick one: None marks it ambiguous.
                managers[key] = None if key in managers and managers[key] != person.id else person.id
        return _Lookups(None if dry_run else station.id, areas, managers, accounts)

    @staticmethod
    def _row(number: int, cells: list[str], layout: _Layout, report: ImportReport, first_seen: dict[str, int],
             lookups: _Lookups) -> _Pending | None:
        values: dict[str, Any] = {}
        problems: list[Rejected] = []
        for index, column in enumerate(layout.columns):
            if column is None:
                continue
            raw = cells[index] if index < len(cells) else ""
            try:
                values[column.field] = column.parse(raw) if raw or column.field == "tags" else (
                    "" if column.text_default else None)
            except Invalid as exc:
                problems.append(Rejected(number, layout.headers[index], str(exc)))
        account_no = values.get("account_no")
        if account_no is None and not any(problem.column == layout.account_header for problem in problems):
            problems.insert(0, Rejected(number, layout.account_header, "户号为空"))
        if account_no:
            first = first_seen.setdefault(account_no, number)
            if first != number:
                problems.insert(0, Rejected(number, layout.account_header,
                                            f"户号与第 {first} 行重复（以第 {first} 行为准）"))
        manager = values.get("manager")
        if manager:
            if manager not in lookups.managers:
                problems.append(Rejected(number, layout.header_of("manager"),
                                         f"找不到在职的客户经理“{manager}”（用 gridbot staff add 登记）"))
            elif lookups.managers[manager] is None:
                problems.append(Rejected(number, layout.header_of("manager"),
                                         f"“{manager}”对应多名员工，请写成 平台:用户ID，如 telegram:900001"))
        if problems:
            report.rejected.extend(problems)
            report.rejected_rows += 1
            return None
        return _Pending(number, values)

    def _write(self, batch: list[_Pending], lookups: _Lookups, report: ImportReport, actor: str) -> bool:
        now = self.clock()
        try:
            with self.uow() as uow:
                records = uow.customer_records
                existing = records.ledger_rows([lookups.accounts[pending.values["account_no"]] for pending in batch
                                                if pending.values["account_no"] in lookups.accounts])
                inserts: list[dict[str, Any]] = []
                updates: list[dict[str, Any]] = []
                events: list[dict[str, Any]] = []
                created_rows: dict[str, int] = {}
                for pending in batch:
                    values = self._resolve(pending.values, lookups, report, uow)
                    found = existing.get(values["account_no"])
                    if found is None:
                        inserts.append(self._new_row(values, now))
                        created_rows[values["account_no"]] = pending.row
                        continue
                    changed = [name for name in values if values[name] != found[name]]
                    if found["deleted_at"] is not None:
                        changed.append("deleted_at")
                    if not changed:
                        report.unchanged += 1
                        continue
                    updates.append({"id": found["id"], **values, "updated_at": now, "deleted_at": None})
                    events.append({"customer_id": found["id"], "at": now, "actor": actor, "action": "imported",
                                   "data": {"file": report.file, "row": pending.row, "changed": changed}})
                if not report.dry_run:
                    ids = records.insert_many(inserts)
                    records.update_many(updates)
                    events.extend({"customer_id": ids[account_no], "at": now, "actor": actor, "action": "imported",
                                   "data": {"file": report.file, "row": row, "created": True}}
                                  for account_no, row in created_rows.items())
                    records.add_events(events)
                    uow.commit()
                report.created += len(inserts)
                report.updated += len(updates)
        except SQLAlchemyError as exc:
            first, last = batch[0].row, batch[-1].row
            reason = str(exc).splitlines()[0][:200]
            report.failure = (f"第 {first}–{last} 行这一批写入失败（{reason}），已整批撤销，导入在此停止："
                              f"之前的行已导入，请从第 {first} 行起重新导入。")
            return False
        return True

    def _resolve(self, values: dict[str, Any], lookups: _Lookups, report: ImportReport,
                 uow: UnitOfWork) -> dict[str, Any]:
        resolved = {name: value for name, value in values.items() if name not in ("area", "manager")}
        if "area" in values:
            resolved["area_id"] = self._area_id(values["area"], lookups, report, uow)
        if "manager" in values:
            resolved["manager_id"] = lookups.managers.get(values["manager"]) if values["manager"] else None
        return resolved

    def _area_id(self, name: str | None, lookups: _Lookups, report: ImportReport, uow: UnitOfWork) -> int | None:
        if not name:
            return None
        if name in lookups.areas:
            return lookups.areas[name]
        if name not in report.new_areas:
            report.new_areas.append(name)
        if report.dry_run or lookups.station_id is None:
            return None
        area = uow.stations.area(lookups.station_id, name, self.default_area_type)
        # Known for the later rows of this batch; forgotten again if the batch rolls back.
        lookups.areas[name] = area.id or 0
        return area.id

    @staticmethod
    def _new_row(values: dict[str, Any], now: datetime) -> dict[str, Any]:
        row: dict[str, Any] = {name: None for name in LEDGER_FIELDS}
        row.update(name="", address="", tags=[])
        row.update(values)
        return row | {"created_at": now, "updated_at": None, "deleted_at": None, "platform": None, "user_id": None}

    # --- the ledger export ------------------------------------------------------------------------------------

    def export_ledger(self, path: Path) -> tuple[int, int]:
        """Write every live record with a 户号 to .xlsx or .csv; returns (written, skipped without 户号)."""
        suffix = path.suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            raise CustomerError(f"不支持的文件类型“{path.suffix}”：请用 .xlsx 或 .csv")
        headers = [column.header for column in COLUMNS]
        with self.uow() as uow:
            areas = uow.customer_records.area_names()
            managers = self._manager_labels(uow)
            skipped = uow.customer_records.without_account_no()
            rows = (self._ledger_row(customer, areas, managers) for customer in uow.customer_records.ledger())
            written = _write_xlsx(path, headers, rows) if suffix == ".xlsx" else _write_csv(path, headers, rows)
        return written, skipped

    @staticmethod
    def _manager_labels(uow: UnitOfWork) -> dict[int, str]:
        staff = uow.customer_records.staff()
        names = [person.name for person in staff]
        # A name shared by two people is exported as platform:user_id so that the import finds the right one.
        return {person.id: person.name if names.count(person.name) == 1 else f"{person.platform}:{person.user_id}"
                for person in staff if person.id is not None}

    @staticmethod
    def _ledger_row(customer: Customer, areas: dict[int, str], managers: dict[int, str]) -> list[Any]:
        return [customer.account_no, customer.name, customer.phone or "", customer.address,
                areas.get(customer.area_id, "") if customer.area_id else "", customer.usage_category or "",
                customer.industry or "", customer.importance or "",
                LOCALITIES.get(customer.locality or "", ""), customer.capacity_kva,
                customer.voltage or "", customer.households, managers.get(customer.manager_id or 0, ""),
                "、".join(customer.tags)]

    # --- one record -------------------------------------------------------------------------------------------

    def find(self, uow: UnitOfWork, ref: str) -> Customer:
        """REF is a 户号 (10–13 digits) or a record number ("12" or "#12")."""
        value = ascii_digits(ref).strip().lstrip("#")
        if not value.isdigit():
            raise CustomerError(f"“{ref}”既不是户号也不是客户编号")
        found = (uow.customer_records.by_account_no(value) if len(value) >= ACCOUNT_NO_MIN_DIGITS
                 else uow.customer_records.get(int(value)))
        if found is None:
            raise CustomerError(f"没有客户 {ref}")
        return found

    def validate(self, fields: dict[str, str]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """Typed values for the given fields (raw text, "" clears a field) and (field, reason) for the bad ones."""
        values: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, raw in fields.items():
            column = _BY_FIELD.get(name)
            if column is None:
                problems.append((name, "没有这个字段"))
                continue
            try:
                values[name] = column.parse(raw) if raw.strip() or name == "tags" else (
                    "" if column.text_default else None)
            except Invalid as exc:
                problems.append((name, str(exc)))
        if "account_no" in fields and values.get("account_no") is None and not any(
                name == "account_no" for name, _ in problems):
            problems.append(("account_no", "户号不能为空"))
        return values, problems

    def _apply(self, uow: UnitOfWork, customer: Customer, values: dict[str, Any]) -> list[str]:
        changed: list[str] = []
        for name, value in values.items():
            if name == "area":
                station = uow.stations.get_or_create(self.station_name)
                assert station.id is not None
                area_id = uow.stations.area(station.id, value, self.default_area_type).id if value else None
                name, value = "area_id", area_id
            elif name == "manager":
                name, value = "manager_id", self._manager_id(uow, value) if value else None
            if getattr(customer, name) != value:
                setattr(customer, name, value)
                changed.append(name)
        return changed

    def _manager_id(self, uow: UnitOfWork, who: str) -> int:
        matches = {person.id for person in uow.customer_records.staff()
                   if who in (person.name, person.user_id, f"{person.platform}:{person.user_id}")}
        if len(matches) != 1:
            problem = "找不到在职的客户经理" if not matches else "对应多名员工，请写成 平台:用户ID"
            raise CustomerError(f"“{who}”{problem}")
        found = matches.pop()
        assert found is not None
        return found

    def add(self, fields: dict[str, str], actor: str = "cli") -> Customer:
        if not fields.get("account_no", "").strip():
            raise CustomerError("户号不能为空")
        values, problems = self.validate(fields)
        if problems:
            raise CustomerError("；".join(f"{_label(name)}：{reason}" for name, reason in problems))
        now = self.clock()
        with self.uow() as uow:
            existing = uow.customer_records.by_account_no(values["account_no"])
            if existing is not None:
                state = "（已删除，可用 update 恢复）" if existing.deleted_at else ""
                raise CustomerError(f"户号 {values['account_no']} 已有客户记录 #{existing.id}{state}")
            customer = Customer(created_at=now)
            changed = self._apply(uow, customer, values)
            uow.customer_records.save(customer)
            assert customer.id is not None
            uow.customer_records.log(CustomerEvent(customer_id=customer.id, at=now, actor=actor, action="created",
                                                   data={"fields": changed}))
            uow.commit()
            return customer

    def update(self, ref: str, fields: dict[str, str], actor: str = "cli") -> tuple[Customer, list[str]]:
        """Change the given fields; a deleted (not erased) record comes back. Returns the fields that changed."""
        values, problems = self.validate(fields)
        if problems:
            raise CustomerError("；".join(f"{_label(name)}：{reason}" for name, reason in problems))
        now = self.clock()
        with self.uow() as uow:
            customer = self.find(uow, ref)
            if customer.deleted_at is not None and customer.account_no is None and not customer.name:
                raise CustomerError(f"客户 #{customer.id} 的个人信息已删除，不能再修改")
            new_no = values.get("account_no")
            if new_no and new_no != customer.account_no:
                other = uow.customer_records.by_account_no(new_no)
                if other is not None:
                    raise CustomerError(f"户号 {new_no} 已属于客户记录 #{other.id}")
            changed = self._apply(uow, customer, values)
            if customer.deleted_at is not None:
                customer.deleted_at = None
                changed.append("deleted_at")
            if changed:
                customer.updated_at = now
                uow.customer_records.save(customer)
                assert customer.id is not None
                uow.customer_records.log(CustomerEvent(customer_id=customer.id, at=now, actor=actor,
                                                       action="updated", data={"fields": changed}))
                uow.commit()
            return customer, changed

    def delete(self, ref: str, actor: str = "cli", reason: str = "") -> Customer:
        now = self.clock()
        with self.uow() as uow:
            customer = self.find(uow, ref)
            if customer.deleted_at is not None:
                raise CustomerError(f"客户 #{customer.id} 已于 {customer.deleted_at:%Y-%m-%d} 删除")
            customer.deleted_at = now
            customer.updated_at = now
            uow.customer_records.save(customer)
            assert customer.id is not None
            uow.customer_records.log(CustomerEvent(customer_id=customer.id, at=now, actor=actor, action="deleted",
                                                   data={"reason": reason} if reason else {}))
            uow.commit()
            return customer

    def view(self, ref: str) -> dict[str, Any]:
        """The record as shown to staff: names instead of ids, and the count of tickets."""
        with self.uow() as uow:
            customer = self.find(uow, ref)
            return self._record(uow, customer) | {
                "tickets": len(uow.customer_records.tickets(customer.id or 0)),
                "events": [_event(event) for event in uow.customer_records.events(customer.id or 0)],
            }

    def _record(self, uow: UnitOfWork, customer: Customer) -> dict[str, Any]:
        record = {key: _jsonable(value) for key, value in customer.model_dump().items()}
        areas = uow.customer_records.area_names()
        record["area"] = areas.get(customer.area_id or 0)
        record["manager"] = uow.customer_records.staff_names().get(customer.manager_id or 0)
        return record

    def export_one(self, ref: str) -> dict[str, Any]:
        """Everything stored about one customer (个人信息查阅、复制): the record, its audit trail, their tickets
        with what they wrote and what was done, their surveys and their subscriptions."""
        with self.uow() as uow:
            customer = self.find(uow, ref)
            records = uow.customer_records
            tickets = records.tickets(customer.id or 0)
            ids = [ticket.id for ticket in tickets if ticket.id is not None]
            events: dict[int, list[dict[str, Any]]] = {}
            for event in records.ticket_events(ids):
                events.setdefault(event.ticket_id, []).append(
                    {"at": _jsonable(event.at), "actor": event.actor, "action": event.action, "note": event.note})
            surveys: dict[int, list[dict[str, Any]]] = {}
            for survey in records.surveys(ids):
                surveys.setdefault(survey.ticket_id, []).append(
                    {"round": survey.round, "status": survey.status, "score": survey.score, "reason": survey.reason,
                     "asked_at": _jsonable(survey.asked_at), "answered_at": _jsonable(survey.answered_at)})
            return {
                "customer": self._record(uow, customer),
                "events": [_event(event) for event in records.events(customer.id or 0)],
                "tickets": [{key: _jsonable(value) for key, value in ticket.model_dump().items()}
                            | {"events": events.get(ticket.id or 0, []), "surveys": surveys.get(ticket.id or 0, [])}
                            for ticket in tickets],
                "subscriptions": [{key: _jsonable(value) for key, value in row.model_dump().items()}
                                  for row in records.subscriptions(customer)],
                "exported_at": _jsonable(self.clock()),
            }

    def erase(self, ref: str, actor: str = "cli") -> dict[str, Any]:
        """Erase a customer's personal information on request: blank the record's personal fields and unlink the
        chat account, blank what they wrote on their tickets, drop their subscriptions. Ticket kinds, statuses,
        times and ratings stay for the statistics; the record stays (deleted) with an "erased" audit event."""
        now = self.clock()
        with self.uow() as uow:
            customer = self.find(uow, ref)
            records = uow.customer_records
            assert customer.id is not None
            blanked = [name for name in ("account_no", "name", "phone", "address", "platform", "user_id", "tags")
                       if getattr(customer, name)]
            actor_id = f"customer:{customer.platform}:{customer.user_id}" if customer.platform else None
            subscriptions = records.subscriptions(customer)
            tickets = records.tickets(customer.id)
            ids = [ticket.id for ticket in tickets if ticket.id is not None]
            parents = {ticket.parent_id for ticket in tickets if ticket.parent_id is not None}
            records.erase_ticket_texts(ids, parents, actor_id, ERASED)
            records.delete_subscriptions(subscriptions)
            customer.account_no = customer.phone = customer.platform = customer.user_id = None
            customer.name = customer.address = ""
            customer.tags = []
            customer.deleted_at = customer.deleted_at or now
            customer.updated_at = now
            records.save(customer)
            summary = {"fields": blanked, "tickets": len(ids), "subscriptions": len(subscriptions)}
            records.log(CustomerEvent(customer_id=customer.id, at=now, actor=actor, action="erased", data=summary))
            uow.commit()
            return summary | {"customer_id": customer.id}


@dataclass
class _Layout:
    """Where the header is and what each of its cells means."""

    row: int
    columns: list[Column | None]
    headers: list[str]  # as written in the file

    def header_of(self, field_name: str) -> str:
        return next(self.headers[i] for i, c in enumerate(self.columns) if c is not None and c.field == field_name)

    @cached_property
    def account_header(self) -> str:
        return self.header_of("account_no")


@dataclass
class _Lookups:
    station_id: int | None
    areas: dict[str, int]  # 台区 name → id, in the station
    managers: dict[str, int | None]  # name, user id or platform:user id → staff id; None: ambiguous
    accounts: dict[str, int]  # every stored 户号 → record id, loaded once at the start


def _label(name: str) -> str:
    column = _BY_FIELD.get(name)
    return column.header if column else name


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _event(event: CustomerEvent) -> dict[str, Any]:
    return {"at": _jsonable(event.at), "actor": event.actor, "action": event.action, "data": event.data}


def _write_xlsx(path: Path, headers: list[str], rows: Iterable[list[Any]]) -> int:
    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("客户台账")
    sheet.append(headers)
    count = 0
    for row in rows:
        cells: list[Any] = []
        for index, value in enumerate(row):
            if index in (0, 2):  # 户号 and phone as text: Excel would show long numbers in scientific notation
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "@"
                cells.append(cell)
            else:
                cells.append(value)
        sheet.append(cells)
        count += 1
    book.save(path)
    return count


def _write_csv(path: Path, headers: list[str], rows: Iterable[list[Any]]) -> int:
    count = 0
    # UTF-8 with a BOM: Chinese Excel opens it without garbling the names.
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(headers)
        for row in rows:
            writer.writerow(["" if value is None else _csv_number(value) for value in row])
            count += 1
    return count


def _csv_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
