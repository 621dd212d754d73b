"""Who sees what: a staff member's role turned into the scope every dashboard query is limited to."""

from __future__ import annotations

from storage.dashboard import Scope
from storage.models import Staff


def scope_of(staff: Staff) -> Scope:
    """Admin: everything. Supervisor: their station, or the county (everything) without one.
    Grid manager, and any role not known here: only their own areas (least privilege)."""
    if staff.role == "admin":
        return Scope()
    if staff.role == "supervisor":
        return Scope(station_id=staff.station_id)
    return Scope(manager_id=staff.id or -1)

