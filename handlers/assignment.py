"""Who takes a new ticket: the group's own manager, else the next grid manager on duty (round-robin)."""

from __future__ import annotations

from datetime import datetime, timedelta

from storage.models import ChatGroup, Staff
from storage.uow import UnitOfWork


def pick_assignee(uow: UnitOfWork, group: ChatGroup | None, station_id: int | None, now: datetime) -> Staff | None:
    """The group's responsible manager when present and on duty; otherwise round-robin over the station's
    managers on duty, skipping those marked away (the one assigned longest ago goes first)."""
    chosen: Staff | None = None
    if group is not None and group.manager_id is not None:
        owner = uow.staff.get(group.manager_id)
        if owner is not None and owner.active and not owner.away:
            chosen = owner
    on_duty = uow.staff.on_duty(station_id)
    if chosen is None:
        chosen = on_duty[0] if on_duty else None
    if chosen is not None:
        # Strictly after everyone else, even when two tickets arrive within one clock tick.
        stamps = [staff.last_assigned_at for staff in on_duty if staff.last_assigned_at is not None]
        chosen.last_assigned_at = max([now, *(stamp + timedelta(microseconds=1) for stamp in stamps)])
        uow.staff.save(chosen)
    return chosen
