import datetime as dt
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from orientation import store
from orientation.errors import Conflict, InvalidData, NotFound, PathwayInvalid
from orientation.models import (
    Absence,
    AccessRules,
    Address,
    Contact,
    Location,
    Organization,
    Pathway,
    PathwayStep,
    Phone,
    Schedule,
    Service,
    TaxonomyTerm,
)

ACTOR = "test"
replace = msgspec.structs.replace


@pytest.fixture
def directory(empty_db):
    """A tiny directory: one organisation, a place, two people, two services, one need."""
    db = empty_db
    org = store.save_organization(db, Organization(
        name="CPAS de Forest", kind="cpas",
        description="Le service social de la commune de Forest."), actor=ACTOR)
    place = store.save_location(db, Location(
        organization_id=org.id, name="CPAS de Forest — accueil",
        address=Address(street="Rue du Curé 35", postal_code="1190", city="Forest"),
        latitude=50.8105, longitude=4.3240, transport=["Tram 82 : arrêt Saint-Denis"]),
        actor=ACTOR)
    nora = store.save_contact(db, Contact(
        organization_id=org.id, civility="Mme", given_name="Nora", family_name="Benali",
        role="Assistante sociale", phones=[Phone(number="+32 2 000 11 22")],
        languages=["fr", "ar"]), actor=ACTOR)
    luc = store.save_contact(db, Contact(
        organization_id=org.id, civility="M.", given_name="Luc", family_name="Peeters",
        role="Agent d'accueil", phones=[Phone(number="+32 2 000 11 23", visibility="staff")]),
        actor=ACTOR)
    need = store.save_term(db, TaxonomyTerm(
        id="7f0e6f5e-4a4c-4d0f-9e36-3f1f4c1f0a01", code="argent",
        labels={"fr": "Argent", "nl": "Geld", "en": "Money"}), actor=ACTOR)
    walk_in = [Schedule(byday="MO,TU", opens_at="09:00", closes_at="12:00")]
    social = store.save_service(db, Service(
        organization_id=org.id, name="Service social", description="Aide sociale générale.",
        needs=[need.id], location_ids=[place.id], contact_ids=[nora.id], schedules=walk_in,
        access=AccessRules(walk_in=True, documents=["Carte d'identité"])), actor=ACTOR)
    debts = store.save_service(db, Service(
        organization_id=org.id, name="Médiation de dettes", description="Aide pour les dettes.",
        needs=[need.id], location_ids=[place.id], contact_ids=[luc.id],
        access=AccessRules(appointment=True)), actor=ACTOR)
    return {"db": db, "org": org, "place": place, "nora": nora, "luc": luc, "need": need,
            "social": social, "debts": debts}


def pathway(d, *steps: PathwayStep, need="J'ai des dettes") -> Pathway:
    return Pathway(need=need, themes=[d["need"].id], steps=list(steps))


def step(service, contact, **kwargs) -> PathwayStep:
    return PathwayStep(service_id=service.id, contact_id=contact.id, action="Demandez de l'aide.",
                       **kwargs)


def audit_rows(db) -> int:
    return db["audit"].count


def test_round_trip_of_every_aggregate(directory):
    d = directory
    db = d["db"]
    for entity, record in [("organization", d["org"]), ("location", d["place"]),
                           ("contact", d["nora"]), ("service", d["social"]),
                           ("taxonomy_term", d["need"])]:
        assert store.get(db, entity, record.id) == record
    saved = store.save_pathway(db, pathway(d, step(d["debts"], d["luc"]),
                                           step(d["social"], d["nora"], bring=["Factures"])),
                               actor=ACTOR)
    assert store.get_pathway(db, saved.id) == saved
    assert saved.steps[1].bring == ["Factures"]
    assert store.list_services(db)[0].contact_ids  # links come back with list reads too


def test_every_write_is_audited_field_by_field(directory):
    d = directory
    db = d["db"]
    service = d["social"]
    store.save_service(db, replace(service, description="Aide sociale, revenu d'intégration."),
                       actor="editor@cpas-forest")
    entries = store.history(db, "service", service.id)
    assert [e.action for e in entries] == ["create", "update"]
    change = entries[-1]
    assert (change.actor, change.field) == ("editor@cpas-forest", "description")
    assert change.before == "Aide sociale générale."
    assert change.after == "Aide sociale, revenu d'intégration."
    # Saving the same record again changes nothing and records nothing.
    before = audit_rows(db)
    store.save_service(db, store.get_service(db, service.id), actor=ACTOR)
    assert audit_rows(db) == before


def test_generation_follows_writes(directory):
    db = directory["db"]
    start = store.generation(db)
    store.save_contact(db, replace(directory["luc"], role="Accueil et orientation"), actor=ACTOR)
    top, changed = store.changes_since(db, start)
    assert top == store.generation(db) > start
    assert changed == {("contact", directory["luc"].id)}


def test_invalid_write_leaves_the_database_unchanged(directory):
    db = directory["db"]
    before = (audit_rows(db), store.counts(db))
    bad = Service(organization_id=directory["org"].id, name="Fantôme", description="…",
                  contact_ids=["00000000-0000-4000-8000-000000000000"])
    with pytest.raises(InvalidData, match=r"contact_ids\[0\]"):
        store.save_service(db, bad, actor=ACTOR)
    with pytest.raises(InvalidData, match="must be after"):
        store.save_service(db, replace(directory["social"], schedules=[
            Schedule(byday="MO", opens_at="14:00", closes_at="10:00")]), actor=ACTOR)
    with pytest.raises(InvalidData, match="not a UUID"):
        store.save_organization(db, Organization(id="1; drop table services", name="x",
                                                 description="x"), actor=ACTOR)
    assert (audit_rows(db), store.counts(db)) == before
    assert store.get_service(db, directory["social"].id).schedules == directory["social"].schedules


def test_unknown_ids_raise_not_found(directory):
    with pytest.raises(NotFound):
        store.get_service(directory["db"], "00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        store.get_service(directory["db"], "not-a-uuid")


def test_delete_refuses_while_referenced(directory):
    d = directory
    db = d["db"]
    store.save_pathway(db, pathway(d, step(d["social"], d["nora"])), actor=ACTOR)
    with pytest.raises(Conflict, match="J'ai des dettes"):
        store.delete(db, "service", d["social"].id, actor=ACTOR)
    with pytest.raises(Conflict, match="service"):
        store.delete(db, "organization", d["org"].id, actor=ACTOR)
    store.delete(db, "service", d["debts"].id, actor=ACTOR)
    with pytest.raises(NotFound):
        store.get_service(db, d["debts"].id)
    assert store.history(db, "service", d["debts"].id)[-1].action == "delete"


# --- Pathway invariants: each one has a failing case with a clear message -----------------


def test_valid_pathway_ending_with_a_reachable_person(directory):
    d = directory
    saved = store.save_pathway(d["db"], pathway(d, step(d["debts"], d["luc"]),
                                                step(d["social"], d["nora"])), actor=ACTOR)
    assert len(saved.steps) == 2


def test_pathway_must_have_steps(directory):
    with pytest.raises(PathwayInvalid, match="at least one step"):
        store.save_pathway(directory["db"], pathway(directory), actor=ACTOR)


def test_step_service_must_exist(directory):
    d = directory
    ghost = replace(d["social"], id="00000000-0000-4000-8000-000000000001")
    with pytest.raises(PathwayInvalid, match=r'dettes", step 1: service .* does not exist'):
        store.save_pathway(d["db"], pathway(d, step(ghost, d["nora"])), actor=ACTOR)


def test_step_service_must_be_active(directory):
    d = directory
    store.save_service(d["db"], replace(d["debts"], status="inactive"), actor=ACTOR)
    with pytest.raises(PathwayInvalid, match="step 1: service 'Médiation de dettes' is not active"):
        store.save_pathway(d["db"], pathway(d, step(d["debts"], d["luc"]),
                                            step(d["social"], d["nora"])), actor=ACTOR)


def test_step_contact_must_exist_and_be_active(directory):
    d = directory
    ghost = replace(d["nora"], id="00000000-0000-4000-8000-000000000002")
    with pytest.raises(PathwayInvalid, match="step 1: contact .* does not exist"):
        store.save_pathway(d["db"], pathway(d, step(d["social"], ghost)), actor=ACTOR)
    store.save_contact(d["db"], replace(d["luc"], status="inactive"), actor=ACTOR)
    with pytest.raises(PathwayInvalid, match="step 1: contact 'M. Luc Peeters' is not active"):
        store.save_pathway(d["db"], pathway(d, step(d["debts"], d["luc"]),
                                            step(d["social"], d["nora"])), actor=ACTOR)


def test_no_step_sends_back_to_an_earlier_service(directory):
    d = directory
    with pytest.raises(PathwayInvalid, match="step 3: sends back to 'Service social', already step 1"):
        store.save_pathway(d["db"], pathway(d, step(d["social"], d["nora"]),
                                            step(d["debts"], d["luc"]),
                                            step(d["social"], d["nora"])), actor=ACTOR)


def test_last_step_must_reach_a_person(directory):
    d = directory
    # Luc only has a staff-only line and the debt service has no walk-in hours.
    with pytest.raises(PathwayInvalid, match="step 2: the last step must end with a person"):
        store.save_pathway(d["db"], pathway(d, step(d["social"], d["nora"]),
                                            step(d["debts"], d["luc"])), actor=ACTOR)
    # With walk-in hours at the service the same person can be found at the desk.
    store.save_service(d["db"], replace(d["debts"], schedules=[
        Schedule(byday="WE", opens_at="09:00", closes_at="12:00", attending_type="walk_in")]),
        actor=ACTOR)
    store.save_pathway(d["db"], pathway(d, step(d["social"], d["nora"]),
                                        step(d["debts"], d["luc"])), actor=ACTOR)


def test_absent_contact_needs_a_substitute(directory):
    d = directory
    future = dt.date.today() + dt.timedelta(days=30)
    store.save_contact(d["db"], replace(d["nora"], absences=[
        Absence(date_from=future, date_to=future + dt.timedelta(days=7), reason="Congé")]),
        actor=ACTOR)
    with pytest.raises(PathwayInvalid, match="is absent from .* and has no substitute"):
        store.save_pathway(d["db"], pathway(d, step(d["social"], d["nora"])), actor=ACTOR)
    # A past absence does not matter.
    store.save_contact(d["db"], replace(d["nora"], absences=[
        Absence(date_from=dt.date(2020, 1, 1), date_to=dt.date(2020, 1, 9))]), actor=ACTOR)
    store.save_pathway(d["db"], pathway(d, step(d["social"], d["nora"])), actor=ACTOR)


def test_writes_elsewhere_cannot_break_a_stored_pathway(directory):
    d = directory
    db = d["db"]
    saved = store.save_pathway(db, pathway(d, step(d["social"], d["nora"])), actor=ACTOR)
    before = audit_rows(db)
    with pytest.raises(PathwayInvalid, match="is not active"):
        store.save_service(db, replace(d["social"], status="inactive"), actor=ACTOR)
    with pytest.raises(PathwayInvalid, match="has no substitute"):
        store.save_contact(db, replace(d["nora"], absences=[Absence(
            date_from=dt.date.today(), date_to=dt.date.today() + dt.timedelta(days=3))]),
            actor=ACTOR)
    assert audit_rows(db) == before
    assert store.get_service(db, d["social"].id).status == "active"
    assert store.check_all(db) == []
    assert store.get_pathway(db, saved.id) == saved


def test_contact_cannot_be_their_own_substitute(directory):
    d = directory
    with pytest.raises(InvalidData, match="own substitute"):
        store.save_contact(d["db"], replace(d["nora"], absences=[Absence(
            date_from=dt.date(2027, 1, 1), date_to=dt.date(2027, 1, 2),
            substitute_id=d["nora"].id)]), actor=ACTOR)


def test_check_all_reports_one_line_per_problem(directory):
    d = directory
    db = d["db"]
    store.save_pathway(db, pathway(d, step(d["social"], d["nora"])), actor=ACTOR)
    # Bypass the store on purpose, as a broken import or a manual edit would.
    db.execute("update services set status = 'inactive' where id = ?", [d["social"].id])
    db.conn.commit()
    problems = store.check_all(db)
    assert problems == ["pathway \"J'ai des dettes\", step 1: service 'Service social' is not active"]


def test_database_uses_wal_and_foreign_keys(empty_db):
    assert empty_db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert empty_db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


@pytest.mark.parametrize("first", ["orientation.store", "orientation.access"])
def test_imports_run_one_way_access_store_models(first):
    """Each layer imports alone in a fresh interpreter; the store never loads the policy."""
    code = (f"import sys, {first}; "
            "assert 'orientation.access' not in sys.modules or "
            f"{first!r} == 'orientation.access', sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True,
                   cwd=Path(__file__).resolve().parent.parent)
