"""Who can I call now: absences, substitutes, lunch breaks, public holidays, staff lines."""

import datetime as dt

import pytest

from orientation import store
from orientation.contacts import who_to_call
from orientation.hours import TZ
from orientation.models import Absence, Contact, Organization, Phone, Schedule, Service

WEEKDAYS = "MO,TU,WE,TH,FR"


def at(y, m, d, hh, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=TZ)


@pytest.fixture
def team(empty_db):
    db = empty_db
    org = store.save_organization(db, Organization(
        name="CPAS de Jette", description="Le service social de Jette."), actor="t")

    def person(given, family, phones, availability, **kw):
        return store.save_contact(db, Contact(
            organization_id=org.id, given_name=given, family_name=family,
            role="Assistante sociale", phones=phones, availability=availability, **kw),
            actor="t")

    split = [Schedule(byday=WEEKDAYS, opens_at="09:00", closes_at="12:00", attending_type="phone"),
             Schedule(byday=WEEKDAYS, opens_at="13:00", closes_at="16:00", attending_type="phone")]
    ines = person("Inès", "Marchal", [Phone(number="+32 2 000 20 01"),
                                      Phone(number="+32 2 000 20 09", visibility="staff")], split)
    tom = person("Tom", "Verhulst", [Phone(number="+32 2 000 20 02")],
                 [Schedule(byday="TU,TH", opens_at="08:30", closes_at="17:00",
                           attending_type="phone")])
    hidden = person("Sara", "Lemaire", [Phone(number="+32 2 000 20 03", visibility="staff")],
                    split)
    ines = store.save_contact(db, Contact(**{
        **{f: getattr(ines, f) for f in ines.__struct_fields__},
        "absences": [Absence(date_from=dt.date(2026, 12, 21), date_to=dt.date(2027, 1, 3),
                             reason="Congé", substitute_id=tom.id)]}), actor="t")
    service = store.save_service(db, Service(
        organization_id=org.id, name="Service social", description="Aide sociale.",
        contact_ids=[ines.id, hidden.id],
        schedules=[Schedule(byday=WEEKDAYS, opens_at="09:00", closes_at="12:00")]), actor="t")
    return {"db": db, "ines": ines, "tom": tom, "sara": hidden, "service": service}


def names(reachables):
    return [r.contact.given_name for r in reachables]


def test_reachable_during_working_hours(team):
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 11, 24, 10))
    assert names(plan.now) == ["Inès"]  # Sara only has a staff line: hidden from the public
    assert plan.now[0].end == at(2026, 11, 24, 12)
    assert [p.number for p in plan.now[0].phones] == ["+32 2 000 20 01"]


def test_staff_see_staff_only_lines_and_people(team):
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 11, 24, 10), staff=True)
    assert sorted(names(plan.now)) == ["Inès", "Sara"]
    ines = next(r for r in plan.now if r.contact.given_name == "Inès")
    assert "+32 2 000 20 09" in [p.number for p in ines.phones]


def test_lunch_break_gives_the_next_window(team):
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 11, 24, 12, 15))
    assert plan.now == []
    assert names(plan.upcoming) == ["Inès"]
    assert plan.upcoming[0].start == at(2026, 11, 24, 13)


def test_absence_hands_over_to_the_substitute(team):
    # Tuesday 22 December 2026: Inès is on leave, Tom covers and works on Tuesdays.
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 12, 22, 16, 30))
    assert names(plan.now) == ["Tom"]
    assert plan.now[0].replaces.given_name == "Inès"
    assert plan.now[0].absence_reason == "Congé"


def test_absence_without_the_substitute_working_that_day(team):
    # Wednesday 23 December: Tom does not work on Wednesdays; next is Thursday 24, with Tom.
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 12, 23, 10))
    assert plan.now == []
    assert names(plan.upcoming) == ["Tom"]
    assert plan.upcoming[0].start == at(2026, 12, 24, 8, 30)


def test_absence_end_brings_the_person_back(team):
    # Friday 1 January 2027 is a public holiday, the weekend follows, Inès is back on Monday 4.
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 12, 31, 17))
    assert names(plan.upcoming) == ["Inès"]
    assert plan.upcoming[0].start == at(2027, 1, 4, 9)


def test_nobody_on_a_public_holiday(team):
    plan = who_to_call(team["db"], [team["service"].id], at(2026, 11, 11, 10))  # Armistice
    assert plan.now == []
    assert plan.upcoming[0].start == at(2026, 11, 12, 9)
