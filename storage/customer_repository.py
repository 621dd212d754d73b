"""Customer records in bulk: the ledger (台账) import and export, the audit trail, a customer's data export and
erasure. Import writes go through SQLAlchemy Core executemany (one statement per batch, not one ORM object per
row), inside the unit of work's transaction."""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, ColumnElement, Table, bindparam, insert, or_, select, text, update
from sqlmodel import SQLModel, col
from sqlmodel import select as sm_select

from storage.models import Area, Customer, CustomerEvent, Staff, Subscription, Survey, Ticket, TicketEvent
from storage.repositories import Customers

__all__ = ["LEDGER_FIELDS", "CustomerRecords"]

# The customer columns a ledger row carries (area_id and manager_id resolved from names by the caller).
LEDGER_FIELDS = ("account_no", "name", "phone", "address", "area_id", "usage_category", "industry", "importance",
                 "locality", "capacity_kva", "voltage", "households", "manager_id", "tags")
# SQLAlchemy reserves bind names equal to column names in UPDATE ... WHERE; the row id travels as this one.
_ID_KEY = "customer_pk"
_LOOKUP_CHUNK = 500  # 户号 per IN (...) query


def _table() -> Table:
    return SQLModel.metadata.tables["customer"]


class CustomerRecords(Customers):
    """The plain lookups of `Customers`, plus the bulk and audit work of the ledger."""

    # --- the ledger import ---------------------------------------------------------------------------------
    def account_ids(self) -> dict[str, int]:
        """Every stored 户号 (deleted records included) → record id, in one query: an import looks rows up in
        this instead of querying per batch (a table growing under the import can keep stale planner statistics
        on PostgreSQL and turn such lookups into sequential scans)."""
        table = _table()
        rows = self.session.execute(select(table.c.account_no, table.c.id).where(table.c.account_no.is_not(None)))
        return {account_no: customer_id for account_no, customer_id in rows.all()}

    def ledger_rows(self, ids: Collection[int]) -> dict[str, dict[str, Any]]:
        """The ledger fields, id and deleted_at of these records, by 户号."""
        table = _table()
        columns = [table.c.id, table.c.deleted_at, *(table.c[name] for name in LEDGER_FIELDS)]
        found: dict[str, dict[str, Any]] = {}
        numbers = list(ids)
        for start in range(0, len(numbers), _LOOKUP_CHUNK):
            chunk = numbers[start:start + _LOOKUP_CHUNK]
            for row in self.session.execute(select(*columns).where(table.c.id.in_(chunk))).mappings():
                found[row["account_no"]] = dict(row)
        return found

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        """Insert new records (every row with the same keys) in bulk; returns 户号 → id."""
        if not rows:
            return {}
        table = _table()
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            # Ids drawn from the sequence up front, so COPY needs no RETURNING and nothing is looked up after.
            ids = connection.execute(text("SELECT nextval(pg_get_serial_sequence('customer', 'id')) "
                                          "FROM generate_series(1, :n)"), {"n": len(rows)}).scalars().all()
            rows = [{"id": customer_id, **row} for customer_id, row in zip(ids, rows, strict=True)]
            self._bulk_insert(table, rows)
            return {row["account_no"]: row["id"] for row in rows}
        result = connection.execute(insert(table).returning(table.c.id, table.c.account_no), list(rows))
        return {account_no: customer_id for customer_id, account_no in result.all()}

    def update_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """Update records in one executemany. Every row has the same keys; "id" names the record."""
        if not rows:
            return
        table = _table()
        keys = [key for key in rows[0] if key != "id"]
        statement = (update(table).where(table.c.id == bindparam(_ID_KEY))
                     .values({key: bindparam(key) for key in keys}))
        params = [{_ID_KEY: row["id"], **{key: row[key] for key in keys}} for row in rows]
        self.session.connection().execute(statement, params)

    def add_events(self, events: Sequence[dict[str, Any]]) -> None:
        if events:
            self._bulk_insert(SQLModel.metadata.tables["customer_event"], events)

    def _bulk_insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """SQLite: executemany (sqlite3 loops in C). PostgreSQL: COPY, in the same transaction; psycopg's
        executemany still costs a round of the pipeline per row, and a many-VALUES INSERT is parsed placeholder by
        placeholder, both several times slower."""
        connection = self.session.connection()
        if connection.dialect.name != "postgresql":
            connection.execute(insert(table), list(rows))
            return
        names = list(rows[0])
        json_columns = {name for name in names if isinstance(table.c[name].type, JSON)}
        driver = connection.connection.driver_connection
        assert driver is not None
        quoted = ", ".join(f'"{name}"' for name in names)
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([json.dumps(row[name], ensure_ascii=False) if name in json_columns else row[name]
                                for name in names])

    def area_ids(self, station_id: int) -> dict[str, int]:
        """The station's 台区 by name."""
        rows = self.session.exec(sm_select(Area).where(Area.station_id == station_id)).all()
        return {area.name: area.id for area in rows if area.id is not None}

    def area_names(self) -> dict[int, str]:
        return {area.id: area.name for area in self.session.exec(sm_select(Area)).all() if area.id is not None}

    def staff(self) -> Sequence[Staff]:
        return self.session.exec(sm_select(Staff).where(col(Staff.active).is_(True))).all()

    def staff_names(self) -> dict[int, str]:
        return {person.id: person.name for person in self.session.exec(sm_select(Staff)).all()
                if person.id is not None}

    def ledger(self, batch: int = 2000) -> Iterator[Customer]:
        """Every record with a 户号 that is not deleted, by 户号, read in batches."""
        last = ""
        while True:
            page = self.session.exec(
                sm_select(Customer).where(col(Customer.account_no).is_not(None), col(Customer.deleted_at).is_(None),
                                          col(Customer.account_no) > last)
                .order_by(col(Customer.account_no)).limit(batch)
            ).all()
            if not page:
                return
            yield from page
            last = page[-1].account_no or ""

    def without_account_no(self) -> int:
        return len(self.session.exec(sm_select(Customer.id).where(col(Customer.account_no).is_(None),
                                                                   col(Customer.deleted_at).is_(None))).all())

    # --- one record (get, by_account_no, save: from Customers) ----------------------------------------------
    def log(self, event: CustomerEvent) -> CustomerEvent:
        return self._save(event)

    def events(self, customer_id: int) -> Sequence[CustomerEvent]:
        return self.session.exec(sm_select(CustomerEvent).where(CustomerEvent.customer_id == customer_id)
                                 .order_by(col(CustomerEvent.id))).all()

    def tickets(self, customer_id: int) -> Sequence[Ticket]:
        return self.session.exec(sm_select(Ticket).where(Ticket.customer_id == customer_id)
                                 .order_by(col(Ticket.id))).all()

    def ticket_events(self, ticket_ids: Collection[int]) -> Sequence[TicketEvent]:
        if not ticket_ids:
            return []
        return self.session.exec(sm_select(TicketEvent).where(col(TicketEvent.ticket_id).in_(list(ticket_ids)))
                                 .order_by(col(TicketEvent.id))).all()

    def surveys(self, ticket_ids: Collection[int]) -> Sequence[Survey]:
        if not ticket_ids:
            return []
        return self.session.exec(sm_select(Survey).where(col(Survey.ticket_id).in_(list(ticket_ids)))
                                 .order_by(col(Survey.id))).all()

    def subscriptions(self, customer: Customer) -> Sequence[Subscription]:
        conditions: list[ColumnElement[bool]] = []
        if customer.platform and customer.user_id:
            conditions.append((col(Subscription.platform) == customer.platform)
                              & (col(Subscription.user_id) == customer.user_id))
        if customer.account_no:
            conditions.append(col(Subscription.account_no) == customer.account_no)
        if not conditions:
            return []
        return self.session.exec(sm_select(Subscription).where(or_(*conditions)).order_by(col(Subscription.id))).all()

    def erase_ticket_texts(self, ticket_ids: Collection[int], parent_ids: Collection[int], customer_actor: str | None,
                           marker: str) -> None:
        """Blank what the customer wrote on their tickets (appeal text, their name, appended messages, the copy of a
        linked duplicate on its parent, survey reasons), keeping kinds, statuses, times and scores for the
        statistics."""
        ids = list(ticket_ids)
        if not ids:
            return
        self.session.execute(update(Ticket).where(col(Ticket.id).in_(ids)).values(text=marker, sender_name=""))
        if customer_actor:
            self.session.execute(update(TicketEvent).where(col(TicketEvent.ticket_id).in_(ids),
                                                           col(TicketEvent.actor) == customer_actor,
                                                           col(TicketEvent.note) != "").values(note=marker))
        if parent_ids:
            linked = self.session.exec(sm_select(TicketEvent).where(col(TicketEvent.ticket_id).in_(list(parent_ids)),
                                                                   TicketEvent.action == "linked")).all()
            for event in linked:
                if event.data.get("child") in ids and event.note:
                    event.note = marker
                    self.session.add(event)
        self.session.execute(update(Survey).where(col(Survey.ticket_id).in_(ids), col(Survey.reason) != "")
                             .values(reason=marker))
        self.session.flush()

    def delete_subscriptions(self, rows: Sequence[Subscription]) -> None:
        for row in rows:
            self.session.delete(row)
        self.session.flush()
