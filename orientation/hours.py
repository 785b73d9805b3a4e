"""Opening hours: weekly schedule rows, exceptional closures and Belgian public holidays.

Everything is computed in Europe/Brussels local time, so a row "9:00–12:00" means nine o'clock on
the wall clock whatever the DST offset. Services are closed on Belgian public holidays unless they
say otherwise (helplines, night shelters), because that is what people find at the door.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import holidays

from .models import Closure, Schedule

TZ = ZoneInfo("Europe/Brussels")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

#: How far ahead next_opening() looks: beyond a year a service is effectively closed.
HORIZON_DAYS = 400


class Opening(NamedTuple):
    start: dt.datetime
    end: dt.datetime
    attending_type: str
    location_id: str | None = None


@functools.lru_cache(maxsize=32)
def _holidays(year: int) -> dict[dt.date, str]:
    return dict(holidays.country_holidays("BE", years=year, language="fr"))


def public_holiday(day: dt.date) -> str | None:
    """The name of the Belgian public holiday on ``day`` (in French), or None."""
    return _holidays(day.year).get(day)


def parse_days(byday: str) -> list[int]:
    days = []
    for part in byday.upper().replace(" ", "").split(","):
        if part not in DAYS:
            raise ValueError(f"unknown day {part!r} in byday {byday!r}")
        days.append(DAYS.index(part))
    return days


def parse_time(value: str) -> dt.time | None:
    """"HH:MM" -> time; "24:00" -> None, meaning midnight at the end of the day."""
    hours, _, minutes = str(value).partition(":")
    try:
        h, m = int(hours), int(minutes or 0)
        if (h, m) == (24, 0):
            return None
        return dt.time(h, m)
    except ValueError:
        raise ValueError(f"time {value!r} is not HH:MM between 00:00 and 24:00") from None


def validate_schedule(row: Schedule) -> None:
    """Raise ValueError for a row that cannot describe real hours."""
    parse_days(row.byday)
    opens = parse_time(row.opens_at)
    closes = parse_time(row.closes_at)
    if opens is None:
        raise ValueError(f"opens_at {row.opens_at!r} cannot be 24:00")
    if closes is not None and closes <= opens:
        raise ValueError(f"closes_at {row.closes_at} must be after opens_at {row.opens_at}")
    if row.valid_from and row.valid_to and row.valid_to < row.valid_from:
        raise ValueError("valid_to is before valid_from")


def local(at: dt.datetime) -> dt.datetime:
    if at.tzinfo is None:
        return at.replace(tzinfo=TZ)
    return at.astimezone(TZ)


def _closed_on(
    day: dt.date, closures: Iterable[Closure], open_on_public_holidays: bool
) -> bool:
    if not open_on_public_holidays and public_holiday(day):
        return True
    return any(c.date_from <= day <= c.date_to for c in closures)


def openings_on(
    day: dt.date,
    schedules: Sequence[Schedule],
    *,
    closures: Iterable[Closure] = (),
    open_on_public_holidays: bool = False,
    attending: Iterable[str] | None = None,
) -> list[Opening]:
    """Every opening interval on a local calendar day, in time order."""
    if _closed_on(day, closures, open_on_public_holidays):
        return []
    wanted = set(attending) if attending is not None else None
    result = []
    for row in schedules:
        if wanted is not None and row.attending_type not in wanted:
            continue
        if row.valid_from and day < row.valid_from or row.valid_to and day > row.valid_to:
            continue
        if day.weekday() not in parse_days(row.byday):
            continue
        opens = parse_time(row.opens_at) or dt.time(0)
        closes = parse_time(row.closes_at)
        start = dt.datetime.combine(day, opens, tzinfo=TZ)
        end = (
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=TZ)
            if closes is None
            else dt.datetime.combine(day, closes, tzinfo=TZ)
        )
        result.append(Opening(start, end, row.attending_type, row.location_id))
    return sorted(result)


def current_opening(
    schedules: Sequence[Schedule], at: dt.datetime, **kwargs
) -> Opening | None:
    """The opening interval that contains ``at``, if any."""
    at = local(at)
    # A row that runs to midnight belongs to the day before 00:00, so look at yesterday too.
    for day in (at.date() - dt.timedelta(days=1), at.date()):
        for opening in openings_on(day, schedules, **kwargs):
            if opening.start <= at < opening.end:
                return opening
    return None


def is_open(schedules: Sequence[Schedule], at: dt.datetime, **kwargs) -> bool:
    return current_opening(schedules, at, **kwargs) is not None


def next_opening(
    schedules: Sequence[Schedule], after: dt.datetime, **kwargs
) -> Opening | None:
    """The first opening that starts at or after ``after`` (skips holidays and closures)."""
    after = local(after)
    for offset in range(HORIZON_DAYS):
        day = after.date() + dt.timedelta(days=offset)
        for opening in openings_on(day, schedules, **kwargs):
            if opening.start >= after:
                return opening
    return None


def open_or_next(
    schedules: Sequence[Schedule], at: dt.datetime, **kwargs
) -> tuple[Opening | None, Opening | None]:
    """(the current opening or None, the next one) — what "when can I go?" needs."""
    return current_opening(schedules, at, **kwargs), next_opening(schedules, at, **kwargs)


# --- Plain-words descriptions -------------------------------------------------------------

WORDS = {
    "fr": {
        "days": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        "and": "et",
        "range": "Du {a} au {b}",
        "every_day": "Tous les jours",
        "hours": "de {a} à {b}",
        "all_day": "24 heures sur 24",
        "walk_in": "sans rendez-vous",
        "appointment": "sur rendez-vous",
        "phone": "par téléphone",
        "online": "en ligne",
        "open_always": "Ouvert maintenant, 24 heures sur 24",
        "open_until_tomorrow": "Ouvert maintenant jusqu'à demain {time}",
        "open_until": "Ouvert maintenant jusqu'à {time}",
        "opens_today": "Ouvre aujourd'hui à {time}",
        "opens_tomorrow": "Ouvre demain à {time}",
        "opens_on": "Ouvre {day} à {time}",
        "closed": "Fermé pour le moment",
        "months": (
            "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre",
        ),
        "date": "{weekday} {day} {month}",
    },
    "nl": {
        "days": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
        "and": "en",
        "range": "Van {a} tot {b}",
        "every_day": "Elke dag",
        "hours": "van {a} tot {b}",
        "all_day": "24 uur op 24",
        "walk_in": "zonder afspraak",
        "appointment": "op afspraak",
        "phone": "via de telefoon",
        "online": "online",
        "open_always": "Nu open, 24 uur op 24",
        "open_until_tomorrow": "Nu open tot morgen {time}",
        "open_until": "Nu open tot {time}",
        "opens_today": "Gaat vandaag open om {time}",
        "opens_tomorrow": "Gaat morgen open om {time}",
        "opens_on": "Gaat open op {day} om {time}",
        "closed": "Nu gesloten",
        "months": (
            "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
            "september", "oktober", "november", "december",
        ),
        "date": "{weekday} {day} {month}",
    },
    "en": {
        "days": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "and": "and",
        "range": "{a} to {b}",
        "every_day": "Every day",
        "hours": "from {a} to {b}",
        "all_day": "24 hours a day",
        "walk_in": "no appointment needed",
        "appointment": "by appointment",
        "phone": "by phone",
        "online": "online",
        "open_always": "Open now, 24 hours a day",
        "open_until_tomorrow": "Open now until tomorrow {time}",
        "open_until": "Open now until {time}",
        "opens_today": "Opens today at {time}",
        "opens_tomorrow": "Opens tomorrow at {time}",
        "opens_on": "Opens on {day} at {time}",
        "closed": "Closed now",
        "months": (
            "January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December",
        ),
        "date": "{weekday} {day} {month}",
    },
    "ar": {
        "days": ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد"),
        "and": "و",
        "comma": "، ",
        "and_last": " و",
        "range": "من {a} إلى {b}",
        "every_day": "كل يوم",
        "hours": "من {a} إلى {b}",
        "all_day": "24 ساعة في اليوم",
        "walk_in": "بدون موعد",
        "appointment": "بموعد",
        "phone": "بالهاتف",
        "online": "عبر الإنترنت",
        "open_always": "مفتوح الآن، 24 ساعة في اليوم",
        "open_until_tomorrow": "مفتوح الآن حتى الغد الساعة {time}",
        "open_until": "مفتوح الآن حتى {time}",
        "opens_today": "يفتح اليوم الساعة {time}",
        "opens_tomorrow": "يفتح غدا الساعة {time}",
        "opens_on": "يفتح يوم {day} الساعة {time}",
        "closed": "مغلق الآن",
        "months": (
            "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس",
            "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر",
        ),
        "date": "{weekday} {day} {month}",
    },
}


def _words(lang: str) -> dict:
    return WORDS.get(lang, WORDS["fr"])


def format_time(value: str | dt.time, lang: str = "fr") -> str:
    """"09:00" -> "9 h", "13:30" -> "13 h 30" in French; "9:00" / "13:30" elsewhere."""
    if isinstance(value, str):
        hours, _, minutes = value.partition(":")
        h, m = int(hours), int(minutes or 0)
    else:
        h, m = value.hour, value.minute
    if (h, m) in ((0, 0), (24, 0)):
        return {"fr": "minuit", "nl": "middernacht", "en": "midnight",
                "ar": "منتصف الليل"}.get(lang, "0:00")
    if lang == "fr":
        return f"{h} h" if m == 0 else f"{h} h {m:02d}"
    return f"{h}:{m:02d}"


def format_date(day: dt.date, lang: str = "fr") -> str:
    """"mardi 3 mars": the easy-to-read rules forbid dd/mm/yyyy dates."""
    w = _words(lang)
    return w["date"].format(
        weekday=w["days"][day.weekday()], day=day.day, month=w["months"][day.month - 1]
    )


def _days_phrase(days: list[int], lang: str) -> str:
    w = _words(lang)
    names = w["days"]
    days = sorted(set(days))
    if len(days) == 7:
        return w["every_day"]
    consecutive = days == list(range(days[0], days[-1] + 1))
    if consecutive and len(days) >= 3:
        phrase = w["range"].format(a=names[days[0]], b=names[days[-1]])
    elif len(days) == 1:
        phrase = names[days[0]]
    else:
        # Arabic lists take the Arabic comma, and "و" is written against the next word.
        comma, last = w.get("comma", ", "), w.get("and_last", f" {w['and']} ")
        phrase = comma.join(names[d] for d in days[:-1]) + last + names[days[-1]]
    return phrase[:1].upper() + phrase[1:]


def describe(schedules: Sequence[Schedule], lang: str = "fr") -> list[str]:
    """One plain sentence per group of days with the same hours and way of attending.

    >>> describe([Schedule(byday="MO,TU", opens_at="09:00", closes_at="12:00")])
    ['Lundi et mardi, de 9 h à 12 h, sans rendez-vous.']
    """
    w = _words(lang)
    by_days: dict[tuple[str, tuple[int, ...]], list[tuple[str, str]]] = {}
    per_day: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for row in schedules:
        for day in parse_days(row.byday):
            per_day.setdefault((row.attending_type, day), []).append((row.opens_at, row.closes_at))
    # Group days that share exactly the same intervals, so a lunch break reads as one sentence;
    # the same interval twice (rows of several services of one organisation) is said once.
    grouped: dict[tuple[str, tuple[tuple[str, str], ...]], list[int]] = {}
    for (attending, day), intervals in per_day.items():
        grouped.setdefault((attending, tuple(sorted(set(intervals)))), []).append(day)
    for (attending, intervals), days in grouped.items():
        by_days[(attending, tuple(sorted(days)))] = list(intervals)
    order = ("walk_in", "appointment", "phone", "online")
    lines = []
    for (attending, days), intervals in sorted(
        by_days.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
    ):
        if intervals == [("00:00", "24:00")]:
            hours = w["all_day"]
        else:
            # "and" as the language joins it (Arabic: "و" is written on the next word).
            hours = w.get("and_last", f" {w['and']} ").join(
                w["hours"].format(a=format_time(a, lang), b=format_time(b, lang))
                for a, b in intervals
            )
        comma = w.get("comma", ", ")  # Arabic: "،", never a Latin comma
        lines.append(f"{_days_phrase(list(days), lang)}{comma}{hours}{comma}{w[attending]}.")
    return lines


def describe_when(
    schedules: Sequence[Schedule], at: dt.datetime, lang: str = "fr", **kwargs
) -> str:
    """"Ouvert maintenant jusqu'à 12 h" / "Ouvre demain à 9 h" / "Ouvre mardi 3 mars à 9 h"."""
    w = _words(lang)
    at = local(at)
    now, upcoming = open_or_next(schedules, at, **kwargs)
    if now:
        # Follow openings that start exactly when the previous one ends (a night shelter's
        # 20:00-24:00 + 00:00-08:00, a 24/7 line), so "open until" is when the door closes.
        end = now.end
        while end - at < dt.timedelta(days=8):
            following = current_opening(schedules, end, **kwargs)
            if following is None:
                break
            end = following.end
        if end - at >= dt.timedelta(days=8):
            return w["open_always"]
        if end.date() == at.date():
            return w["open_until"].format(time=format_time(end.time(), lang))
        if end.date() == at.date() + dt.timedelta(days=1):
            if end.time() == dt.time(0):
                return w["open_until"].format(time=format_time("24:00", lang))
            return w["open_until_tomorrow"].format(time=format_time(end.time(), lang))
        return w["open_until"].format(
            time=f"{format_date(end.date(), lang)} {format_time(end.time(), lang)}")
    if upcoming is None:
        return w["closed"]
    time = format_time(upcoming.start.time(), lang)
    if upcoming.start.date() == at.date():
        return w["opens_today"].format(time=time)
    if upcoming.start.date() == at.date() + dt.timedelta(days=1):
        return w["opens_tomorrow"].format(time=time)
    return w["opens_on"].format(day=format_date(upcoming.start.date(), lang), time=time)


def now() -> dt.datetime:
    return dt.datetime.now(TZ)


class PerMinute:
    """Values computed once per minute per key, kept in the process: a service's opening
    status and "when" sentence change only on the minute (schedule times are whole minutes),
    but a result page asks for them on every request.

    The key must say everything the value depends on besides the minute: a service's status
    depends on its record, so callers key on (database file, generation, service id, language)
    and any write (a new generation) makes new keys. Only directory facts are kept, never
    anything about a person. The whole cache is dropped when a new minute starts or when it
    holds ``size`` values, so it never grows past that.
    """

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._minute: dt.datetime | None = None
        self._values: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, at: dt.datetime, compute: Callable[[], Any]) -> Any:
        minute = at.replace(second=0, microsecond=0)
        with self._lock:
            if self._minute is not None and minute < self._minute:
                return compute()  # a request from the minute before, late: not kept
            if minute != self._minute or len(self._values) >= self.size:
                self._minute, self._values = minute, {}
            if key in self._values:
                return self._values[key]
        # Computed outside the lock: two threads may both compute a missing value once.
        value = compute()
        with self._lock:
            if minute == self._minute:
                self._values[key] = value
        return value
