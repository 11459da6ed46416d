"""Time zones as people pick them: the current canonical IANA zones (those of zone.tab and UTC: no "Factory",
"localtime", "posixrules", Etc/* or old links such as US/Eastern), named in the reader's language by Babel
("Deutschland (Berlin)"), the desk's common zones first. A name saved before (an old link) maps to its zone."""
import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.core import get_global
from babel.dates import get_timezone_location
from flask import current_app
from flask_babel import get_locale

UTC = "UTC"
# The zones of the desk's languages (German, Turkish, Hungarian, Persian), then UTC; the desk's own zone joins
# them (DEFAULT_TIMEZONE).
COMMON_ZONES = ("Europe/Berlin", "Europe/Istanbul", "Europe/Budapest", "Asia/Tehran", UTC)
# Names of UTC and of the old zones that became links to a zone Babel's aliases do not name.
_OLD_NAMES = {
    **dict.fromkeys(("Etc/UTC", "Etc/UCT", "UCT", "Universal", "Zulu", "Etc/Universal", "Etc/Zulu", "GMT",
                     "Etc/GMT", "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "GMT0", "GMT+0", "GMT-0", "Greenwich",
                     "Etc/Greenwich"), UTC),
    "EST5EDT": "America/New_York", "CST6CDT": "America/Chicago", "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
}


def _zone_tab() -> str:
    """zone.tab of the system's time zone data, else of the tzdata package (where zoneinfo finds zones)."""
    for folder in TZPATH:
        path = Path(folder) / "zone.tab"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return resources.files("tzdata.zoneinfo").joinpath("zone.tab").read_text(encoding="utf-8")


def _exists(name) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@cache
def canonical_zones() -> dict:
    """zone → its country code ("" for UTC): every zone people live in today, as zone.tab lists them."""
    zones = {}
    for line in _zone_tab().splitlines():
        if line and not line.startswith("#"):
            country, _coordinates, zone = line.split("\t")[:3]
            if _exists(zone):
                zones[zone] = country
    zones[UTC] = ""
    return zones


@cache
def _aliases() -> dict:
    """Old name → canonical zone, from CLDR's aliases (Babel) both ways: "US/Eastern" → "America/New_York",
    and "Asia/Calcutta" (CLDR's own id) → "Asia/Kolkata"."""
    cldr = get_global("zone_aliases")
    zones = canonical_zones()
    by_cldr_id = {cldr.get(zone, zone): zone for zone in zones}
    aliases = dict(by_cldr_id)
    for old, target in cldr.items():
        if old not in zones and target in by_cldr_id:
            aliases[old] = by_cldr_id[target]
        elif old not in zones and target in zones:
            aliases[old] = target
    aliases.update(_OLD_NAMES)
    return {old: zone for old, zone in aliases.items() if old != zone}


def canonical(name) -> str | None:
    """The current zone for a saved ``name``: itself when canonical, the zone an old link points to, else None
    (not a zone, or one nobody should pick: "Factory", "localtime", a fixed Etc/GMT offset)."""
    if not name or not isinstance(name, str):
        return None
    if name in canonical_zones():
        return name
    return _aliases().get(name)


def _reader_locale(locale=None) -> str:
    return str(locale or get_locale() or "en")


def zone_label(name, locale=None) -> str:
    """``name`` in the reader's language: "Deutschland (Berlin)", "Iran (Teheran)"; UTC as "UTC"; a name
    that is no current zone as it is."""
    zone = canonical(name)
    if zone is None:
        return name or ""
    return _labels(_reader_locale(locale)).get(zone, zone)


@cache
def _labels(locale: str) -> dict:
    parsed = Locale.parse(locale)
    labels = {}
    for zone, country in canonical_zones().items():
        if zone == UTC:
            labels[zone] = UTC
            continue
        city = get_timezone_location(zone, locale=parsed, return_city=True)
        labels[zone] = f"{parsed.territories.get(country, country)} ({city})"
    return labels


def _sort_key(label: str) -> str:
    """Accents and case apart ("Österreich" beside "Oman", not after "Zypern")."""
    return "".join(c for c in unicodedata.normalize("NFKD", label) if not unicodedata.combining(c)).casefold()


@cache
def _choices(locale: str, common: tuple) -> tuple:
    labels = _labels(locale)
    first = [(zone, labels[zone]) for zone in common]
    rest = sorted(((zone, label) for zone, label in labels.items() if zone not in common),
                  key=lambda item: _sort_key(item[1]))
    return tuple(first + rest)


def common_zones() -> tuple:
    """The common zones, the desk's own zone among them (first if it is not one of them already)."""
    desk = canonical(current_app.config.get("DEFAULT_TIMEZONE")) if current_app else None
    return COMMON_ZONES if desk is None or desk in COMMON_ZONES else (desk, *COMMON_ZONES)


def timezone_choices(locale=None) -> list:
    """(zone, name in the reader's language) for a select: the common zones first, then every current zone in
    alphabetical order of its name. Built once per language and desk zone."""
    return list(_choices(_reader_locale(locale), common_zones()))
