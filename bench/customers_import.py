"""The ledger (台账) import at scale: 100,000 customers from XLSX and from CSV.

    .venv/bin/python bench/customers_import.py [--rows 100000] [--baseline-rows 5000] [--no-postgres]

Generates the rows (realistic Chinese ledger columns, 10-digit 户号, 1% bad rows) into a temp dir as .xlsx and
as .csv, and imports each with `CustomerService.import_ledger` into a fresh, migrated SQLite database, and into
a fresh PostgreSQL schema when GRIDBOT_TEST_POSTGRES_URL (default 127.0.0.1:5432/test) answers. A second
import of the CSV measures the update path (every row already stored, a tenth changed).

Baseline of the same run: a naive import of `--baseline-rows` rows of the same CSV, one ORM object per row
and a flush each (the obvious first implementation), extrapolated to `--rows`. `ratio` = naive seconds
(extrapolated) / our seconds. Target: 100,000 rows well under a minute. Ends with one JSON line.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from handlers.customers import COLUMNS, CustomerService, open_ledger
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import Customer
from storage.uow import UnitOfWork

POSTGRES_URL = os.environ.get("GRIDBOT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
HEADERS = ["户号", "户名", "联系电话", "用电地址", "台区", "用电类别", "行业分类", "重要等级", "城乡类别",
           "合同容量(kVA)", "电压等级", "户数", "标签"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚"
CATEGORIES = ["居民生活"] * 8 + ["一般工商业", "农业生产", "大工业"]


def ledger_rows(count: int, seed: int = 7, changed_every: int = 0) -> list[list[Any]]:
    rng = random.Random(seed)
    rows: list[list[Any]] = []
    for i in range(count):
        category = CATEGORIES[i % len(CATEGORIES)]
        phone = f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}"
        if i % 100 == 99:
            phone = "1234"  # a bad row in every hundred
        village = f"第{i % 300 + 1}村"
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[(i // 7) % len(GIVEN)]
        if changed_every and i % changed_every == 0:
            name += "（变更）"
        rows.append([
            f"{3_100_000_000 + i}", name, phone, f"{village}{i % 97 + 1}号", f"{village}台区", category,
            "" if category == "居民生活" else "制造业", "二级" if i % 500 == 0 else "",
            "农村", 8 if category == "居民生活" else 315, "220V" if category == "居民生活" else "10kV", "",
            "光伏" if i % 50 == 0 else "",
        ])
    return rows


def write_csv(path: Path, rows: list[list[Any]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        writer.writerows(rows)


def write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("台账")
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    book.save(path)


def sqlite_engine(directory: Path, name: str) -> Engine:
    engine = make_engine(f"sqlite:///{directory / name}")
    upgrade(engine)
    return engine


def postgres_engine() -> tuple[Engine, str] | None:
    schema = f"bench_customers_{uuid.uuid4().hex[:8]}"
    admin = make_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__}): skipped", file=sys.stderr)
        return None
    finally:
        admin.dispose()
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    return engine, schema


def drop_schema(engine: Engine, schema: str) -> None:
    engine.dispose()
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def timed_import(engine: Engine, path: Path) -> dict[str, Any]:
    service = CustomerService(lambda: UnitOfWork(engine))
    started = time.perf_counter()
    report = service.import_ledger(path)
    seconds = time.perf_counter() - started
    assert report.failure is None, report.failure
    return {"seconds": round(seconds, 2), "rows_per_s": round(report.rows / seconds), "created": report.created,
            "updated": report.updated, "unchanged": report.unchanged, "rejected": report.rejected_rows}


def naive_import(engine: Engine, path: Path, limit: int) -> float:
    """One ORM object per row, looked up by 户号 and flushed: what the bulk path is measured against."""
    by_header = {column.header: column for column in COLUMNS}
    opened = open_ledger(path)
    _, header = next(opened.rows)
    columns = [by_header.get(cell) for cell in header]
    started = time.perf_counter()
    with Session(engine) as session:
        for count, (_, cells) in enumerate(opened.rows):
            if count >= limit:
                break
            values: dict[str, Any] = {}
            try:
                for column, raw in zip(columns, cells, strict=False):
                    if column is not None and column.field not in ("area", "manager"):
                        values[column.field] = column.parse(raw) if raw or column.field == "tags" else None
            except ValueError:
                continue
            found = session.exec(select(Customer).where(Customer.account_no == values["account_no"])).first()
            customer = found or Customer(created_at=datetime.now(UTC))
            for key, value in values.items():
                setattr(customer, key, value if value is not None or key not in ("name", "address") else "")
            session.add(customer)
            session.flush()
        session.commit()
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--baseline-rows", type=int, default=5_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {"bench": "customers_import", "rows": args.rows}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        rows = ledger_rows(args.rows)
        csv_path, xlsx_path, changed_path = directory / "ledger.csv", directory / "ledger.xlsx", directory / "v2.csv"
        started = time.perf_counter()
        write_csv(csv_path, rows)
        write_csv(changed_path, ledger_rows(args.rows, changed_every=10))
        write_xlsx(xlsx_path, rows)
        print(f"generated {args.rows} rows as CSV and XLSX in {time.perf_counter() - started:.1f} s")

        engine = sqlite_engine(directory, "csv.db")
        figures["sqlite_csv"] = timed_import(engine, csv_path)
        figures["sqlite_csv_reimport"] = timed_import(engine, changed_path)
        engine.dispose()
        engine = sqlite_engine(directory, "xlsx.db")
        figures["sqlite_xlsx"] = timed_import(engine, xlsx_path)
        engine.dispose()

        engine = sqlite_engine(directory, "naive.db")
        naive = naive_import(engine, csv_path, args.baseline_rows)
        engine.dispose()
        naive_full = naive * args.rows / args.baseline_rows
        figures["naive_sqlite"] = {"rows": args.baseline_rows, "seconds": round(naive, 2),
                                   "extrapolated_seconds": round(naive_full, 1)}
        figures["ratio_sqlite_csv"] = round(naive_full / figures["sqlite_csv"]["seconds"], 1)

        found = None if args.no_postgres else postgres_engine()
        if found is not None:
            engine, schema = found
            try:
                figures["postgres_csv"] = timed_import(engine, csv_path)
                figures["postgres_csv_reimport"] = timed_import(engine, changed_path)
                with engine.begin() as conn:
                    conn.execute(text("DELETE FROM customer_event"))
                    conn.execute(text("DELETE FROM customer"))
                naive_pg = naive_import(engine, csv_path, args.baseline_rows)
                figures["naive_postgres"] = {"rows": args.baseline_rows, "seconds": round(naive_pg, 2),
                                             "extrapolated_seconds": round(naive_pg * args.rows / args.baseline_rows,
                                                                           1)}
                figures["ratio_postgres_csv"] = round(figures["naive_postgres"]["extrapolated_seconds"]
                                                      / figures["postgres_csv"]["seconds"], 1)
            finally:
                drop_schema(engine, schema)

    for key, value in figures.items():
        if isinstance(value, dict):
            print(f"{key:24} {value}")
    print(json.dumps(figures, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
