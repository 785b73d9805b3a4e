import datetime as dt

import pytest

from orientation.hours import (
    TZ,
    current_opening,
    describe,
    describe_when,
    format_date,
    is_open,
    next_opening,
    public_holiday,
    validate_schedule,
)
from orientation.models import Closure, Schedule

WEEKDAYS = "MO,TU,WE,TH,FR"


def at(y, m, d, hh=0, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


SPLIT = [
    Schedule(byday=WEEKDAYS, opens_at="09:00", closes_at="12:00", attending_type="walk_in"),
    Schedule(byday=WEEKDAYS, opens_at="13:30", closes_at="16:00", attending_type="walk_in"),
]


def test_split_hours_lunch_break():
    monday = (2026, 11, 23)
    assert is_open(SPLIT, at(*monday, 9, 0))
    assert is_open(SPLIT, at(*monday, 11, 59))
    assert not is_open(SPLIT, at(*monday, 12, 0))  # closing time is exclusive
    assert not is_open(SPLIT, at(*monday, 12, 30))
    assert next_opening(SPLIT, at(*monday, 12, 30)).start == at(*monday, 13, 30)
    assert is_open(SPLIT, at(*monday, 15, 0))


def test_next_opening_across_a_weekend():
    friday_evening = at(2026, 11, 27, 17, 0)
    opening = next_opening(SPLIT, friday_evening)
    assert opening.start == at(2026, 11, 30, 9, 0)  # Monday morning
    assert opening.start.strftime("%A") == "Monday"


def test_closed_on_belgian_public_holiday():
    armistice = dt.date(2026, 11, 11)  # a Wednesday
    assert public_holiday(armistice) == "Jour de l'Armistice"
    assert not is_open(SPLIT, at(2026, 11, 11, 10, 0))
    assert next_opening(SPLIT, at(2026, 11, 11, 8, 0)).start == at(2026, 11, 12, 9, 0)


def test_helpline_open_on_public_holidays_when_it_says_so():
    line = [Schedule(byday="MO,TU,WE,TH,FR,SA,SU", opens_at="00:00", closes_at="24:00",
                     attending_type="phone")]
    christmas = at(2026, 12, 25, 3, 0)
    assert not is_open(line, christmas)
    assert is_open(line, christmas, open_on_public_holidays=True)


def test_exceptional_closure_includes_both_dates():
    closures = [Closure(date_from=dt.date(2026, 12, 28), date_to=dt.date(2026, 12, 31),
                        reason="Congés d'hiver")]
    assert not is_open(SPLIT, at(2026, 12, 28, 10, 0), closures=closures)
    assert not is_open(SPLIT, at(2026, 12, 31, 10, 0), closures=closures)
    # 1 January is a public holiday, 2 January 2027 a Saturday: next is Monday 4 January.
    assert next_opening(SPLIT, at(2026, 12, 28, 8, 0), closures=closures).start == at(
        2027, 1, 4, 9, 0)


@pytest.mark.parametrize(
    "week_monday, offset_hours",
    [((2026, 3, 23), 1), ((2026, 3, 30), 2), ((2026, 10, 19), 2), ((2026, 10, 26), 1)],
)
def test_wall_clock_hours_hold_across_dst_changes(week_monday, offset_hours):
    # DST starts Sunday 29 March 2026 and ends Sunday 25 October 2026 in Brussels.
    opening = next_opening(SPLIT, at(*week_monday, 0, 0))
    assert opening.start.hour == 9
    assert opening.start.utcoffset() == dt.timedelta(hours=offset_hours)
    # The same instant given in UTC is recognised as 9:30 local time.
    utc = (at(*week_monday, 9, 30)).astimezone(dt.timezone.utc)
    assert is_open(SPLIT, utc)


def test_opening_through_the_night_of_the_dst_change():
    shelter = [
        Schedule(byday="SA", opens_at="20:00", closes_at="24:00"),
        Schedule(byday="SU", opens_at="00:00", closes_at="08:00"),
    ]
    # 3:30 on 29 March 2026 exists (2:00-3:00 is skipped); the shelter is open then.
    assert is_open(shelter, at(2026, 3, 29, 3, 30))
    assert describe_when(shelter, at(2026, 3, 28, 21, 0)) == "Ouvert maintenant jusqu'à demain 8 h"


def test_midnight_row_belongs_to_the_day_before():
    evening = [Schedule(byday="FR", opens_at="18:00", closes_at="24:00")]
    assert is_open(evening, at(2026, 11, 27, 23, 59))
    assert not is_open(evening, at(2026, 11, 28, 0, 0))
    assert current_opening(evening, at(2026, 11, 27, 23, 0)).end == at(2026, 11, 28, 0, 0)


def test_validity_period_for_seasonal_hours():
    tax_season = [Schedule(byday="TU", opens_at="09:00", closes_at="12:00",
                           valid_from=dt.date(2027, 5, 1), valid_to=dt.date(2027, 6, 30))]
    first = next_opening(tax_season, at(2026, 11, 23))
    assert first.start == at(2027, 5, 4, 9, 0)
    assert next_opening(tax_season, at(2027, 6, 30, 10)) is None


def test_describe_in_plain_french():
    rows = [
        Schedule(byday="MO,TU", opens_at="09:00", closes_at="12:00", attending_type="walk_in"),
        Schedule(byday="TH", opens_at="13:30", closes_at="16:00", attending_type="appointment"),
        *SPLIT[:0],
    ]
    assert describe(rows) == [
        "Lundi et mardi, de 9 h à 12 h, sans rendez-vous.",
        "Jeudi, de 13 h 30 à 16 h, sur rendez-vous.",
    ]
    assert describe(SPLIT) == [
        "Du lundi au vendredi, de 9 h à 12 h et de 13 h 30 à 16 h, sans rendez-vous."
    ]
    assert describe(SPLIT, "nl") == [
        "Van maandag tot vrijdag, van 9:00 tot 12:00 en van 13:30 tot 16:00, zonder afspraak."
    ]



def test_describe_says_the_same_hours_once():
    """A helpline's hours gather the phone rows of its organisation's services: said once."""
    rows = [Schedule(byday="MO,TU,WE,TH,FR", opens_at="08:00", closes_at="17:00",
                     attending_type="phone")] * 3
    assert describe(rows) == ["Du lundi au vendredi, de 8 h à 17 h, par téléphone."]


def test_describe_when():
    monday = (2026, 11, 23)
    assert describe_when(SPLIT, at(*monday, 10)) == "Ouvert maintenant jusqu'à 12 h"
    assert describe_when(SPLIT, at(*monday, 8)) == "Ouvre aujourd'hui à 9 h"
    assert describe_when(SPLIT, at(*monday, 17)) == "Ouvre demain à 9 h"
    assert describe_when(SPLIT, at(2026, 11, 27, 17)) == "Ouvre lundi 30 novembre à 9 h"
    assert describe_when(SPLIT, at(2026, 11, 27, 17), "en") == "Opens on Monday 30 November at 9:00"
    assert describe_when([], at(*monday, 10)) == "Fermé pour le moment"
    always = [Schedule(byday="MO,TU,WE,TH,FR,SA,SU", opens_at="00:00", closes_at="24:00")]
    assert describe_when(always, at(*monday, 10), open_on_public_holidays=True) == (
        "Ouvert maintenant, 24 heures sur 24")


def test_dates_are_written_in_words():
    assert format_date(dt.date(2027, 3, 2)) == "mardi 2 mars"


@pytest.mark.parametrize(
    "row, message",
    [
        (Schedule(byday="XX", opens_at="09:00", closes_at="12:00"), "unknown day"),
        (Schedule(byday="MO", opens_at="12:00", closes_at="09:00"), "must be after"),
        (Schedule(byday="MO", opens_at="24:00", closes_at="24:00"), "cannot be 24:00"),
        (Schedule(byday="MO", opens_at="09:00", closes_at="12:00",
                  valid_from=dt.date(2027, 1, 2), valid_to=dt.date(2027, 1, 1)), "valid_to"),
    ],
)
def test_invalid_schedule_rows_are_refused(row, message):
    with pytest.raises(ValueError, match=message):
        validate_schedule(row)
