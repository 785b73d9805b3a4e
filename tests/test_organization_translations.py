"""Organisation translation files (seed/translations/<lang>/organizations/<org>.yaml): read
against the French, stored, validated on every write, shown by the API."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from orientation import seed as seeding
from orientation import store
from orientation.errors import InvalidData
from orientation.models import LocationTranslation, slug_id

ACTIRIS_NL = {
    "id": "actiris",
    "description": "Actiris is de openbare dienst voor arbeidsbemiddeling van Brussel.",
    "services": {"actiris-inscription": {
        "name": "Inschrijven als werkzoekende",
        "documents": ["Identiteitskaart of verblijfsdocument", "Formulier C4 van uw werkgever",
                      "Diploma's, als u die hebt"],
        "digital_note": "Online hebt u itsme of een kaartlezer nodig. Aan het loket niet.",
    }},
    "contacts": {"actiris-vermeulen": {"role": "Adviseur inschrijvingen, antenne Elsene"}},
    "locations": {"actiris-anspach": {
        "transport": ["Metro 1 en 5: halte De Brouckère", "Tram 3 en 4: halte Beurs"],
        "accessibility": "Gelijkvloerse ingang aan de boulevard.",
    }},
}


def _seed(tmp_path: Path, files: dict[tuple[str, str], object]) -> Path:
    """A copy of the seed (without organisation translation files) plus ``files``."""
    target = tmp_path / "seed"
    shutil.copytree(seeding.DEFAULT_SEED_DIR, target)
    for folder in target.glob("translations/*/organizations"):
        shutil.rmtree(folder)
    for (lang, name), data in files.items():
        path = target / "translations" / lang / "organizations" / f"{name}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else
                        yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return target


def test_a_file_translates_the_organisation_its_services_people_and_places(tmp_path):
    db = store.connect(tmp_path / "o.db")
    seeding.load(db, _seed(tmp_path, {("nl", "actiris"): ACTIRIS_NL}))
    org = store.get_organization(db, slug_id("organization", "actiris"))
    assert org.texts("description", "nl") == (ACTIRIS_NL["description"], "nl")
    assert org.texts("description", "en") == (org.description, "fr")
    service = store.get_service(db, slug_id("service", "actiris-inscription"))
    nl = service.translations["nl"]
    # A field the file does not give is not translated: the French shows, marked as French
    # (the seed has no inline service translation blocks any more).
    assert nl.name == "Inschrijven als werkzoekende"
    assert nl.description is None
    assert service.texts("description", "nl") == (service.description, "fr")
    assert service.documents("nl") == (ACTIRIS_NL["services"]["actiris-inscription"]["documents"],
                                       "nl")
    assert service.texts("digital_note", "nl")[1] == "nl"
    contact = store.get_contact(db, slug_id("contact", "actiris-vermeulen"))
    assert contact.texts("role", "nl") == ("Adviseur inschrijvingen, antenne Elsene", "nl")
    assert contact.texts("role", "ar") == (contact.role, "fr")
    location = store.get_location(db, slug_id("location", "actiris-anspach"))
    assert location.transport_in("nl")[0][1] == "Tram 3 en 4: halte Beurs"
    assert location.transport_in("ar") == (location.transport, "fr")
    assert location.texts("accessibility", "nl") == ("Gelijkvloerse ingang aan de boulevard.",
                                                     "nl")


@pytest.mark.parametrize(("lang", "name", "data", "says"), [
    ("de", "actiris", {"id": "actiris"}, "not a translation language"),
    ("nl", "actiris", {"id": "forem"}, "is not the file name"),
    ("nl", "nobody", {"id": "nobody"}, "no organisation 'nobody'"),
    ("nl", "actiris", {"id": "actiris", "services": {"actiris-nope": {"name": "x"}}},
     "no service 'actiris-nope'"),
    ("nl", "actiris", {"id": "actiris", "contacts": {"capac-bruxelles-peeters": {"role": "x"}}},
     "belongs to"),
    ("nl", "actiris", {"id": "actiris", "services": {"actiris-inscription": {
        "cost_description": "5 euro"}}}, "the French has none"),
    ("nl", "actiris", {"id": "actiris", "locations": {"actiris-anspach": {
        "transport": ["Metro 1 en 5"]}}}, "has 1 items, the French 2"),
    ("nl", "actiris", {"id": "actiris", "services": {"actiris-inscription": {
        "documents": ["a", "b"]}}}, "has 2 items, the French 3"),
    ("nl", "actiris", {"id": "actiris", "contacts": {"actiris-vermeulen": {"name": "Hugo"}}},
     "unknown field 'name'"),
    ("nl", "actiris", {"id": "actiris", "website": "https://example.org"}, "unknown field"),
    ("nl", "actiris", "id: actiris\ndescription: [\n", "not valid YAML"),
])
def test_a_file_that_does_not_follow_the_french_is_refused_by_name(tmp_path, lang, name,
                                                                    data, says):
    # Read without loading (loading the whole seed per case would take seconds each).
    with pytest.raises(seeding.SeedError) as refused:
        seeding.organizations(_seed(tmp_path, {(lang, name): data}))
    assert f"translations/{lang}/organizations/{name}.yaml" in str(refused.value)
    assert says in str(refused.value)


def test_a_refused_file_leaves_the_database_as_it_was(tmp_path):
    db = store.connect(tmp_path / "o.db")
    with pytest.raises(seeding.SeedError):
        seeding.load(db, _seed(tmp_path, {("nl", "actiris"): {"id": "actiris", "x": 1}}))
    assert store.is_empty(db)  # one transaction: nothing half-loaded


def test_a_place_translation_must_follow_the_french_lines(db):
    location = store.get_location(db, slug_id("location", "actiris-anspach"))
    wrong = location.__class__(**{
        **{f: getattr(location, f) for f in location.__struct_fields__},
        "translations": {"nl": LocationTranslation(transport=["only one"])}})
    with pytest.raises(InvalidData) as refused:
        store.save_location(db, wrong, actor="test")
    assert refused.value.field == "translations.nl.transport"


def test_the_api_writes_and_shows_the_new_translations_like_a_services(api_client, api_keys):
    admin = api_keys.headers["admin"]
    url = f"/api/v1/locations/{slug_id('location', 'actiris-anspach')}"
    place = api_client.get(url).json()
    nl = ACTIRIS_NL["locations"]["actiris-anspach"]
    saved = api_client.put(url, json={**place, "translations": {"nl": nl}}, headers=admin)
    assert saved.status_code == 200, saved.text
    assert api_client.get(url).json()["translations"]["nl"] == nl
    # A list of another length than the French: a clear 422 naming the field, nothing stored.
    bad = api_client.put(url, json={**place, "translations": {"nl": {"transport": ["x"]}}},
                         headers=admin)
    assert bad.status_code == 422
    assert "translations.nl.transport" in bad.text
    assert api_client.get(url).json()["translations"]["nl"] == nl
    url = f"/api/v1/contacts/{slug_id('contact', 'actiris-vermeulen')}"
    assert api_client.get(url).json()["translations"]["nl"]["role"]  # the seed's file
    answer = api_client.patch(url, json={"translations": {"ar": {"role": "مستشار التسجيل"}}},
                              headers=admin)
    assert answer.status_code == 200, answer.text
    assert api_client.get(url).json()["translations"]["ar"]["role"] == "مستشار التسجيل"


@pytest.fixture
def test_files_db(tmp_path):
    """The seed with, as its only organisation translations, the test files (the Brabant wallon
    legal aid office in nl and ar, partly: tests/data/translations)."""
    from conftest import TEST_TRANSLATIONS

    db = store.connect(tmp_path / "o.db")
    seeding.load(db, _seed(tmp_path, {
        (path.parent.parent.name, path.stem): path.read_text(encoding="utf-8")
        for path in TEST_TRANSLATIONS.glob("*/organizations/*.yaml")}))
    yield db
    db.close()


def test_coverage_and_the_queue_count_organisations_people_and_places(test_files_db):
    from orientation import translations, verification

    translated_db = test_files_db
    org_id = slug_id("organization", "baj-brabant-wallon")
    [nl] = [c for c in translations.coverage(translated_db, services=True)
            if c.lang == "nl" and c.kind == "organizations"]
    assert 0 < nl.done < nl.total
    [line] = [m for m in nl.missing if m.startswith("Bureau d'aide juridique du Brabant wallon:")]
    # Translated in the test file: the description, two roles, the palace's directions; left:
    # the third lawyer's role and the Ottignies office's transport line and details.
    assert "Agnieszka Wiśniewska: role" in line and "Palais" not in line
    assert "Permanence juridique au CPAS d'Ottignies: transport 1" in line
    rows = verification.to_translate(translated_db, organization_id=org_id)
    [org_nl] = [r for r in rows if r.entity == "organization" and r.lang == "nl"]
    assert org_nl.missing == 3 and org_nl.total == 9
    assert not any(r.entity == "service" and r.lang in ("nl", "ar")
                   and r.id == slug_id("service", "baj-brabant-wallon-pro-deo") for r in rows)
    assert any(r.entity == "service" and r.lang == "en" for r in rows)
    assert [r.entity for r in rows] == sorted(
        (r.entity for r in rows), key=["pathway", "service", "organization"].index)


def test_check_reports_services_and_organisations(db_path):
    from click.testing import CliRunner

    from orientation.cli import cli

    result = CliRunner().invoke(cli, ["check", "--db", str(db_path)])
    lines = [line for line in result.output.splitlines() if line.startswith("translations ")]
    assert lines and all("services " in line and "organizations " in line for line in lines)


@pytest.mark.parametrize(("fmt", "name"), [("hsds-json", "directory.json"),
                                           ("csv", "package")])
def test_a_complete_export_keeps_the_translations_of_organisations_people_and_places(
        translated_db, tmp_path, fmt, name):
    from orientation import export, importer

    export.export(translated_db, tmp_path / name, fmt, complete=True)
    target = store.connect(tmp_path / "copy.db")
    importer.load(target, tmp_path / name)
    for getter, kind, slug in ((store.get_organization, "organization", "baj-brabant-wallon"),
                               (store.get_contact, "contact", "baj-brabant-wallon-vandamme"),
                               (store.get_location, "location", "baj-brabant-wallon-palais")):
        record_id = slug_id(kind, slug)
        original = getter(translated_db, record_id).translations
        assert original and getter(target, record_id).translations == original
