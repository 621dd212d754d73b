"""Read-only reporting queries (KPIs, dashboard figures): aggregate over a period, never write."""

from __future__ import annotations

from sqlmodel import Session


class Reports:
    def __init__(self, session: Session) -> None:
        self.session = session
