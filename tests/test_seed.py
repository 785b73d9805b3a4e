"""The seed directory is product: these tests hold it to what a careful editor would check."""

import datetime as dt
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from orientation import seed as seeding
from orientation import store
from orientation.hours import TZ

SEED = Path(__file__).parent.parent / "seed"
# The category map is configuration of the importers, not sample data.
FILES = [p for p in sorted(SEED.glob("*.yaml")) + sorted(SEED.glob("*/*.yaml"))
         if p.name != "category_map.yaml"]
BRUSSELS_COMMUNES = {
    "Anderlecht", "Auderghem", "Berchem-Sainte-Agathe", "Bruxelles", "Etterbeek", "Evere",
    "Forest", "Ganshoren", "Ixelles", "Jette", "Koekelberg", "Molenbeek-Saint-Jean",
    "Saint-Gilles", "Saint-Josse-ten-Noode", "Schaerbeek", "Uccle", "Watermael-Boitsfort",
    "Woluwe-Saint-Lambert", "Woluwe-Saint-Pierre",
}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_file_says_it_is_sample_data(path):
    assert path.read_text(encoding="utf-8").startswith("# Données d'exemple — personnes fictives.")


def test_seed_is_large_enough_to_test_honestly(db):
    counts = store.counts(db)
    assert counts["organization"] >= 40
    assert counts["service"] >= 150
    assert counts["location"] >= 60
    assert counts["pathway"] >= 30
    top = [t for t in store.list_terms(db) if t.parent_id is None]
    assert [t.code for t in top] == ["argent", "logement", "energie", "sante", "emploi",
                                     "papiers", "famille", "numerique", "urgence", "droits"]
    assert all(set(t.labels) >= {"fr", "nl", "en"} for t in store.list_terms(db))


def test_seed_passes_every_check(db):
    assert store.check_all(db) == []


def test_reseeding_updates_in_place(db):
    before = store.counts(db), store.generation(db)
    seeding.load(db)
    assert (store.counts(db), store.generation(db)) == before


def test_every_brussels_commune_has_a_place(db):
    cities = {loc.address.city for loc in store.list_locations(db)
              if loc.address and loc.address.region == "bruxelles"}
    # Laeken, Haren and Neder-Over-Heembeek are parts of the City of Brussels.
    cities = {"Bruxelles" if c.startswith(("Bruxelles", "Laeken", "Haren", "Neder")) else c
              for c in cities}
    assert BRUSSELS_COMMUNES <= cities


def test_postal_codes_match_the_region(db):
    for loc in store.list_locations(db):
        code = int(loc.address.postal_code)
        if loc.address.region == "bruxelles":
            assert 1000 <= code <= 1299, loc.name
        elif loc.address.region == "brabant-wallon":
            assert 1300 <= code <= 1499, loc.name
        assert 49.4 < loc.latitude < 51.6 and 2.5 < loc.longitude < 6.5, loc.name


def test_content_is_written_not_copied(db):
    services = store.list_services(db)
    descriptions = Counter(s.description.strip() for s in services)
    assert descriptions.most_common(1)[0][1] == 1, descriptions.most_common(3)
    names = Counter((s.organization_id, s.name) for s in services)
    assert names.most_common(1)[0][1] == 1
    people = Counter((c.given_name, c.family_name) for c in store.list_contacts(db))
    assert people.most_common(1)[0][1] == 1, people.most_common(3)


def test_every_service_names_a_person_and_has_hours(db):
    for service in store.list_services(db):
        assert service.contact_ids, service.name
        assert service.schedules, service.name


def test_staff_only_lines_absences_and_a_confidential_shelter_exist(db):
    contacts = store.list_contacts(db)
    assert any(p.visibility == "staff" for c in contacts for p in c.phones)
    absent = [c for c in contacts if c.absences]
    assert len(absent) >= 4
    assert all(a.substitute_id for c in absent for a in c.absences)
    assert any(loc.confidential for loc in store.list_locations(db))


def test_digital_requirement_is_stated_honestly(db):
    levels = Counter(s.digital.level for s in store.list_services(db))
    assert levels["none"] > levels["required"] > 0
    for service in store.list_services(db):
        if service.digital.level != "none":
            assert service.digital.what, service.name


def test_pathways_are_translated_and_end_with_a_person(db):
    for pathway in store.list_pathways(db):
        assert set(pathway.translations) >= {"nl", "en"}, pathway.need
        last = store.get_contact(db, pathway.steps[-1].contact_id)
        assert last.given_name and last.family_name


def test_no_emails_of_people_at_real_domains():
    # Fictional people must not get addresses at real, reachable domains of real persons.
    for path in FILES:
        for address in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", path.read_text("utf-8")):
            assert not address.endswith(("@gmail.com", "@hotmail.com", "@outlook.com")), (
                path.name, address)


def test_files_parse_as_mappings():
    for path in FILES:
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path.name


def test_every_slip_ends_with_a_general_free_line_of_its_region(db):
    from orientation import helpdesk, slip

    at = dt.datetime(2026, 11, 24, 10, tzinfo=TZ)
    for pathway in store.list_pathways(db, status="active"):
        composed = slip.for_pathway(db, pathway, at=at)
        last = composed.steps[-1]
        region = last.location.address.region if last.location and last.location.address else None
        line = composed.helpline
        assert line is not None and line.phone.free, pathway.need
        assert line.organization.kind in helpdesk.GENERAL_LINE_KINDS, (pathway.need, line)
        places = {loc.address.region for loc in store.list_locations(
            db, organization_id=line.organization.id) if loc.address}
        assert region is None or region in places, (pathway.need, region, line.organization.name)


def test_absences_are_consistent(db):
    """An absence ends after it starts, and its substitute is someone else, active, and not
    away at the same time: otherwise a slip would send a person to an empty office."""
    contacts = {c.id: c for c in store.list_contacts(db)}
    checked = 0
    for contact in contacts.values():
        for absence in contact.absences:
            checked += 1
            who = f"{contact.given_name} {contact.family_name}"
            assert absence.date_from <= absence.date_to, (who, absence)
            substitute = contacts.get(absence.substitute_id)
            assert substitute is not None and substitute.id != contact.id, (who, absence)
            assert substitute.status == "active", (who, substitute.family_name)
            for other in substitute.absences:
                overlap = other.date_from <= absence.date_to and absence.date_from <= other.date_to
                assert not overlap, (who, absence, substitute.family_name, other)
    assert checked >= 20


#: A bring item that says there is nothing to bring, in the seed's four languages: a step with
#: nothing to bring has no list (the slip then prints none).
NOTHING = re.compile(r"(?i)^(rien|aucun|niets|nothing|لا شيء)\b")


def test_no_bring_list_says_bring_nothing_and_no_need_has_brackets():
    for path in sorted((SEED / "pathways").glob("*.yaml")) + sorted(
            (SEED / "translations").glob("*/*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if "steps" not in data:
            continue  # an organisation's translation
        for n, step in enumerate(data["steps"], start=1):
            for item in step.get("bring") or []:
                assert not NOTHING.match(item), (path.name, n, item)
        assert not re.search(r"[()\[\]]", data.get("need") or ""), (path.name, data["need"])
