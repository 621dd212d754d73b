"""`gridbot customers import|export|add|update|show|delete|erase|export-one`: customer records and the ledger (台账).

`import FILE` reads .xlsx or .csv (UTF-8 with or without BOM, or GB18030 as Chinese Excel writes it), reports
every rejected row as 第 N 行「列」：原因 on stdout, and upserts the valid rows by 户号, one transaction per
1000 rows. Exit status: 0 every row imported, 1 some rows rejected (the others imported), 2 the file could not be
read or a batch could not be written (earlier batches stay).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.bootstrap import build_engine
from bot.cli_common import fail_cleanly, settings
from handlers.customers import (
    IMPORTANCE_GRADES,
    LOCALITIES,
    USAGE_CATEGORIES,
    CustomerError,
    CustomerService,
    ImportReport,
)
from storage.uow import UnitOfWork

app = typer.Typer(help="Customer records and the station's ledger (台账).", no_args_is_help=True)
ACTOR = "cli"
_LABELS = {"id": "编号", "account_no": "户号", "name": "户名", "phone": "联系电话", "address": "用电地址",
           "area": "台区",
           "usage_category": "用电类别", "industry": "行业分类", "importance": "重要等级", "locality": "城乡类别",
           "capacity_kva": "合同容量(kVA)", "voltage": "电压等级", "households": "户数", "manager": "客户经理",
           "tags": "标签", "platform": "聊天平台", "user_id": "聊天账号", "created_at": "建档时间",
           "updated_at": "修改时间", "deleted_at": "删除时间"}


def _service() -> CustomerService:
    cfg = settings()
    with fail_cleanly():
        engine = build_engine(cfg)
    return CustomerService(lambda: UnitOfWork(engine), cfg.station_name, cfg.area_type_default)


@contextlib.contextmanager
def _clean() -> Iterator[None]:
    """A refused request is one line on stderr and exit 1; settings and database trouble exit 2."""
    with fail_cleanly():
        try:
            yield
        except CustomerError as exc:
            typer.echo(f"gridbot: {exc}", err=True)
            raise typer.Exit(1) from None


def _progress() -> Progress:
    console = Console(stderr=True)
    return Progress(TextColumn("导入"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=console, disable=not console.is_terminal, transient=True)


@app.command("import")
def import_(
    file: Path = typer.Argument(..., help="The ledger: .xlsx or .csv, with a header row (户号, 户名, 联系电话, …)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and report; write nothing."),
    sheet: str = typer.Option("", "--sheet", help="The worksheet of an .xlsx (default: the first)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Import the ledger: upsert customers by 户号 and report every rejected row."""
    service = _service()
    with _clean(), _progress() as progress:
        task = progress.add_task("import", total=None)
        report: ImportReport = service.import_ledger(
            file, sheet=sheet or None, dry_run=dry_run, actor=f"{ACTOR}:import",
            on_start=lambda total: progress.update(task, total=total),
            on_progress=lambda done: progress.update(task, completed=done))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        for line in report.lines():
            typer.echo(line)
    raise typer.Exit(2 if report.failure else 1 if report.rejected else 0)


@app.command("export")
def export(file: Path = typer.Argument(..., help="Where to write: .xlsx or .csv (UTF-8 with BOM).")) -> None:
    """Export the ledger: every customer with a 户号 that is not deleted, in the import's columns."""
    with _clean():
        written, skipped = _service().export_ledger(file)
    left_out = f"另有 {skipped} 条没有户号的记录（聊天中建立）未导出。" if skipped else ""
    typer.echo(f"{file}：导出 {written} 户。{left_out}")


def _fields(**options: str | None) -> dict[str, str]:
    return {name: value for name, value in options.items() if value is not None}


_CATEGORY_HELP = " | ".join(USAGE_CATEGORIES)
_IMPORTANCE_HELP = " | ".join(IMPORTANCE_GRADES)
_LOCALITY_HELP = " | ".join(LOCALITIES.values())


@app.command("add")
def add(
    account_no: str = typer.Option(..., "--account-no", help="户号: 10 to 13 digits."),
    name: str | None = typer.Option(None, help="户名."),
    phone: str | None = typer.Option(None, help="A mainland mobile or a landline (0571-88888888)."),
    address: str | None = typer.Option(None, help="用电地址."),
    area: str | None = typer.Option(None, help="台区 name (created in the station when new)."),
    category: str | None = typer.Option(None, "--category", help=f"用电类别: {_CATEGORY_HELP}."),
    industry: str | None = typer.Option(None, help="行业分类."),
    importance: str | None = typer.Option(None, help=f"重要等级: {_IMPORTANCE_HELP}."),
    locality: str | None = typer.Option(None, help=f"城乡类别: {_LOCALITY_HELP}."),
    capacity: str | None = typer.Option(None, help="合同容量 in kVA."),
    voltage: str | None = typer.Option(None, help="电压等级, e.g. 10kV, 380V."),
    households: str | None = typer.Option(None, help="Households of a residential community."),
    manager: str | None = typer.Option(None, help="The responsible manager: name or platform:user_id."),
    tags: str | None = typer.Option(None, help="Tags, separated by commas or 、."),
) -> None:
    """Add a customer record."""
    fields = _fields(account_no=account_no, name=name, phone=phone, address=address, area=area,
                     usage_category=category, industry=industry, importance=importance, locality=locality,
                     capacity_kva=capacity, voltage=voltage, households=households, manager=manager, tags=tags)
    with _clean():
        customer = _service().add(fields, actor=ACTOR)
    typer.echo(f"客户 #{customer.id}：户号 {customer.account_no} {customer.name} 已建档。")


@app.command("update")
def update(
    ref: str = typer.Argument(..., help="户号, or the record number (12 or #12)."),
    account_no: str | None = typer.Option(None, "--account-no", help="A new 户号."),
    name: str | None = typer.Option(None, help="户名."),
    phone: str | None = typer.Option(None, help="A mainland mobile or a landline; \"\" clears it."),
    address: str | None = typer.Option(None, help="用电地址."),
    area: str | None = typer.Option(None, help="台区 name; \"\" clears it."),
    category: str | None = typer.Option(None, "--category", help=f"用电类别: {_CATEGORY_HELP}."),
    industry: str | None = typer.Option(None, help="行业分类."),
    importance: str | None = typer.Option(None, help=f"重要等级: {_IMPORTANCE_HELP}."),
    locality: str | None = typer.Option(None, help=f"城乡类别: {_LOCALITY_HELP}."),
    capacity: str | None = typer.Option(None, help="合同容量 in kVA."),
    voltage: str | None = typer.Option(None, help="电压等级, e.g. 10kV, 380V."),
    households: str | None = typer.Option(None, help="Households of a residential community."),
    manager: str | None = typer.Option(None, help="The responsible manager: name or platform:user_id."),
    tags: str | None = typer.Option(None, help="Tags, separated by commas or 、 (replaces the old ones)."),
) -> None:
    """Change fields of a customer record; a deleted record comes back."""
    fields = _fields(account_no=account_no, name=name, phone=phone, address=address, area=area,
                     usage_category=category, industry=industry, importance=importance, locality=locality,
                     capacity_kva=capacity, voltage=voltage, households=households, manager=manager, tags=tags)
    if not fields:
        raise typer.BadParameter("name at least one field to change, e.g. --phone 13812345678", param_hint="options")
    with _clean():
        customer, changed = _service().update(ref, fields, actor=ACTOR)
    if changed:
        typer.echo(f"客户 #{customer.id} 已修改：{'、'.join(_LABELS.get(n.removesuffix('_id'), n) for n in changed)}。")
    else:
        typer.echo(f"客户 #{customer.id} 没有变化。")


def _show_value(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(item) for item in value)
    return "" if value is None else str(value)


@app.command("show")
def show(
    ref: str = typer.Argument(..., help="户号, or the record number (12 or #12)."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object."),
) -> None:
    """Show a customer record with its audit trail."""
    with _clean():
        record = _service().view(ref)
    if as_json:
        typer.echo(json.dumps(record, ensure_ascii=False))
        return
    for key, label in _LABELS.items():
        value = record.get(key)
        if key == "locality":
            value = LOCALITIES.get(value or "", value)
        if value not in (None, "", []):
            typer.echo(f"{label}：{_show_value(value)}")
    typer.echo(f"工单：{record['tickets']} 张")
    for event in record["events"]:
        data = json.dumps(event["data"], ensure_ascii=False)
        typer.echo(f"  {event['at'][:19]} {event['actor']} {event['action']} {data}")


@app.command("delete")
def delete(
    ref: str = typer.Argument(..., help="户号, or the record number."),
    reason: str = typer.Option("", "--reason", help="Why, kept in the audit trail."),
) -> None:
    """Delete a customer record (soft: it stays, marked deleted, with an audit event; `update` brings it back)."""
    with _clean():
        customer = _service().delete(ref, actor=ACTOR, reason=reason)
    typer.echo(f"客户 #{customer.id}（户号 {customer.account_no}）已删除。")


@app.command("erase")
def erase(
    ref: str = typer.Argument(..., help="户号, or the record number."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Erase a customer's personal information on their request (cannot be undone; ticket statistics stay)."""
    if not yes and not typer.confirm(f"永久删除客户 {ref} 的个人信息（姓名、电话、地址、户号、工单原文）？"):
        raise typer.Exit(1)
    with _clean():
        summary = _service().erase(ref, actor=ACTOR)
    typer.echo(f"客户 #{summary['customer_id']} 的个人信息已删除：字段 {len(summary['fields'])} 个，"
               f"工单原文 {summary['tickets']} 张，订阅 {summary['subscriptions']} 条。")


@app.command("export-one")
def export_one(
    ref: str = typer.Argument(..., help="户号, or the record number."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the JSON here instead of stdout."),
) -> None:
    """Everything stored about one customer, as JSON (a request to see or copy their personal information)."""
    with _clean():
        data = _service().export_one(ref)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    if output is None:
        sys.stdout.write(text + "\n")
    else:
        output.write_text(text + "\n", encoding="utf-8")
        typer.echo(f"{output}：客户 #{data['customer']['id']}，工单 {len(data['tickets'])} 张。")
