"""Pathway invariants as plain rules: records passed in, no database (orientation.rules)."""

import datetime as dt

import msgspec
import pytest

from orientation import rules
from orientation.errors import PathwayInvalid
from orientation.models import Absence, Contact, Pathway, PathwayStep, Phone, Schedule, Service

TODAY = dt.date(2026, 12, 4)
replace = msgspec.structs.replace

ORG = "00000000-0000-4000-8000-000000000001"
nora = Contact(organization_id=ORG, civility="Mme", given_name="Nora", family_name="Benali",
               role="Assistante sociale", phones=[Phone(number="+32 2 000 11 22")])
luc = Contact(organization_id=ORG, civility="M.", given_name="Luc", family_name="Peeters",
              role="Accueil", phones=[Phone(number="+32 2 000 11 23", visibility="staff")])
social = Service(organization_id=ORG, name="Service social", description="Aide sociale.",
                 contact_ids=[nora.id],
                 schedules=[Schedule(byday="MO", opens_at="09:00", closes_at="12:00")])
debts = Service(organization_id=ORG, name="Médiation de dettes", description="Dettes.",
                contact_ids=[luc.id])
SERVICES = {s.id: s for s in (social, debts)}
CONTACTS = {c.id: c for c in (nora, luc)}


def check(*steps: tuple[Service, Contact], services=SERVICES, contacts=CONTACTS) -> None:
    pathway = Pathway(need="J'ai des dettes", steps=[
        PathwayStep(service_id=s.id, contact_id=c.id, action="Demandez.") for s, c in steps])
    rules.validate_pathway(pathway, services, contacts, today=TODAY)


def reason(*steps, **maps) -> tuple[str, int | None]:
    with pytest.raises(PathwayInvalid) as caught:
        check(*steps, **maps)
    return caught.value.reason, caught.value.step


def test_a_pathway_ending_with_a_reachable_person_is_valid():
    check((debts, luc), (social, nora))


def test_each_broken_invariant_has_its_reason_and_step():
    assert reason() == ("no-steps", None)
    assert reason((social, nora), services={}) == ("service-missing", 1)
    assert reason((social, nora), contacts={}) == ("contact-missing", 1)
    assert reason((social, nora), (debts, luc), (social, nora)) == ("sends-back", 3)
    assert reason((social, nora), (debts, luc)) == ("unreachable-end", 2)
    inactive = {**CONTACTS, nora.id: replace(nora, status="inactive")}
    assert reason((social, nora), contacts=inactive) == ("contact-inactive", 1)


def test_only_current_and_future_absences_need_an_active_substitute():
    def away(days: int, substitute: str | None = None) -> dict[str, Contact]:
        absence = Absence(date_from=TODAY - dt.timedelta(days=30),
                          date_to=TODAY + dt.timedelta(days=days), substitute_id=substitute)
        return {**CONTACTS, nora.id: replace(nora, absences=[absence])}

    check((social, nora), contacts=away(-1))  # over yesterday: nothing to check
    assert reason((social, nora), contacts=away(0)) == ("contact-absent", 1)
    assert reason((social, nora), contacts=away(3, "unknown")) == ("substitute-missing", 1)
    check((social, nora), contacts=away(3, luc.id))
    assert rules.substitute_ids(
        Pathway(need="x", steps=[PathwayStep(service_id=social.id, contact_id=nora.id,
                                             action="Demandez.")]),
        away(3, luc.id), today=TODAY) == {luc.id}
