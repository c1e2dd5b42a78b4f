"""Time zone names as Alertmanager reads a time interval's `location` (Go's
time.LoadLocation): a zone of the IANA database, or UTC, or Local. The database's names
are the tzdata package's, the same on every machine (the system's copy may be missing or
older), so a spec is valid or not wherever it is checked."""

from __future__ import annotations

from functools import cache
from pathlib import Path

# What time.LoadLocation takes besides the database's zones: Local is the zone of the
# machine Alertmanager runs on.
_GO_NAMES = frozenset({"UTC", "Local"})

# Zones at offset zero all year: a time range in one of them means what it means without
# a location.
UTC_ALWAYS = frozenset(
    {
        *("UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu"),
        *("GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0"),
        *("Greenwich", "Etc/Greenwich"),
    }
)


@cache
def always_utc(zone: str) -> bool:
    """Whether `zone` is at offset zero all year, every year (Africa/Abidjan,
    Atlantic/Reykjavik): a time range there means what it means in UTC."""
    if zone in UTC_ALWAYS:
        return True
    import datetime
    import zoneinfo

    import tzdata

    path = Path(tzdata.__file__).with_name("zoneinfo").joinpath(*zone.split("/"))
    try:
        with path.open("rb") as data:
            info = zoneinfo.ZoneInfo.from_file(data, key=zone)
    except (OSError, ValueError):
        return False
    return all(
        info.utcoffset(datetime.datetime(year, month, 15)) == datetime.timedelta(0)
        for year in (2000, 2025, 2035)
        for month in (1, 7)
    )


@cache
def known_zones() -> frozenset[str]:
    """Every name Alertmanager accepts as a location."""
    import tzdata  # imported here: only a spec with a location needs the list

    listed = Path(tzdata.__file__).with_name("zones").read_text(encoding="utf-8")
    return frozenset(listed.split()) | _GO_NAMES


# Abbreviations people write for a zone, which the database does not hold (or holds as
# a fixed offset that ignores daylight saving time): the zones they usually mean.
ABBREVIATIONS = {
    "CST": "America/Chicago",
    "CDT": "America/Chicago",
    "EDT": "America/New_York",
    "PST": "America/Los_Angeles",
    "PDT": "America/Los_Angeles",
    "MDT": "America/Denver",
    "BST": "Europe/London",
    "CEST": "Europe/Berlin",
    "IST": "Asia/Kolkata",
    "JST": "Asia/Tokyo",
    "AEST": "Australia/Sydney",
    "AEDT": "Australia/Sydney",
}
