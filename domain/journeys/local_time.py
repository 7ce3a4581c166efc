"""The time zone a contact's local times are placed in: its own, else its workspace's, else UTC.

A zone name that is not a known IANA zone (stored before validation, or removed from tzdata) falls back the same
way rather than failing a journey."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC_ZONE = ZoneInfo("UTC")


def known_zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def contact_zone(contact_timezone: str | None, workspace_timezone: str | None) -> ZoneInfo:
    return known_zone(contact_timezone) or known_zone(workspace_timezone) or UTC_ZONE
