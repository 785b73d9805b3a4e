"""Competence: the right office for where the person lives (orientation.competence).

A CPAS only helps the people of its commune, Actiris the people of Brussels, Le Forem those of
Wallonia, a legal aid office those of its judicial district. These tests resolve every role for
every commune the seed covers, on the real seed, and check that a pathway whose role cannot
send someone to a reachable person is refused.
"""

import msgspec
import pytest

from orientation import communes, competence, hsds, store
from orientation.errors import InvalidData, PathwayInvalid
from orientation.models import Area, Pathway, Service, slug_id

replace = msgspec.structs.replace


def _seed_communes() -> tuple[str, ...]:
    """The Brabant wallon communes where the seed has a place (its coverage there)."""
    from pathlib import Path

    import yaml

    found = set()
    for path in (Path(__file__).parent.parent / "seed" / "organizations").glob("*.yaml"):
        for loc in yaml.safe_load(path.read_text(encoding="utf-8")).get("locations", []):
            a = loc["address"]
            name = communes.commune(a["city"], a["postal_code"])
            if name in communes.BRABANT_WALLON:
                found.add(name)
    return tuple(sorted(found))


BRABANT_WALLON = _seed_communes()
ALL = communes.BRUSSELS + BRABANT_WALLON


def sid(slug: str) -> str:
    return slug_id("service", slug)


def test_the_seed_covers_ten_brabant_wallon_communes():
    assert len(BRABANT_WALLON) == 10 and "Wavre" in BRABANT_WALLON


@pytest.mark.parametrize("commune", ALL)
def test_cpas_is_the_cpas_of_the_commune(db, commune):
    found = competence.resolve(db, "cpas", commune)
    assert found is not None, commune
    org = store.get_organization(db, found.service.organization_id)
    assert org.kind == "cpas"
    assert found.service.areas == [Area(kind="commune", name=commune)]
    assert found.service.access.residents_only
    # Its place is in the commune, and there is a named person to ask for.
    address = found.location.address
    assert communes.commune(address.city, address.postal_code) == commune, found.location.name
    assert found.contact.family_name and found.contact.public_phones()


@pytest.mark.parametrize("commune", ALL)
def test_emploi_is_actiris_in_brussels_and_le_forem_in_brabant_wallon(db, commune):
    found = competence.resolve(db, "emploi", commune)
    org = store.get_organization(db, found.service.organization_id)
    assert org.name == ("Actiris" if commune in communes.BRUSSELS else "Le Forem — Wavre")
    assert found.service.access.residents_only and found.contact.public_phones()


@pytest.mark.parametrize("commune", ALL)
def test_baj_is_the_legal_aid_office_of_the_district(db, commune):
    found = competence.resolve(db, "baj", commune)
    expected = "baj-bruxelles" if commune in communes.BRUSSELS else "baj-brabant-wallon"
    assert found.service.organization_id == slug_id("organization", expected)


def test_every_brabant_wallon_commune_has_its_regional_offices(db):
    # Beyond the communes the seed has places in: Le Forem and the Nivelles BAJ serve them all.
    for commune in communes.BRABANT_WALLON:
        assert competence.resolve(db, "emploi", commune).service.id == sid(
            "forem-wavre-inscription")
        assert competence.resolve(db, "baj", commune).service.id == sid(
            "baj-brabant-wallon-premiere-ligne")


def test_the_field_report_an_ixelles_resident_goes_to_the_cpas_of_ixelles(db):
    pathway = store.get_pathway(db, slug_id("pathway", "revenu-integration-cpas-bruxelles"))
    cpas_step = next(s for s in pathway.steps if s.role == "cpas")
    assert cpas_step.service_id == sid("cpas-schaerbeek-social")  # the default, unchanged
    ixelles = competence.localize(db, pathway, "Ixelles")
    step = ixelles.steps[pathway.steps.index(cpas_step)]
    assert step.service_id == sid("cpas-ixelles-social")
    assert step.location_id == slug_id("location", "cpas-ixelles-siege")
    assert store.get_contact(db, step.contact_id).family_name == "Carvalho"
    # Steps without a role are untouched; with no commune, the pathway is as stored.
    assert ixelles.steps[0] == pathway.steps[0]
    assert competence.localize(db, pathway, None) == pathway


def test_a_person_without_a_home_goes_to_the_cpas_where_they_stay(db):
    # No address: the commune where they stay decides, the same way (an "adresse de
    # référence" is then given there). Former communes and postal codes are understood.
    assert competence.resolve(db, "cpas", "Laeken").service.id == sid("cpas-bruxelles-social")
    assert competence.resolve(db, "cpas", "1050").service.id == sid("cpas-ixelles-social")
    assert competence.resolve(db, "cpas", "Genval").service.id == sid("cpas-rixensart-social")
    assert competence.resolve(db, "cpas", "Atlantis") is None


def test_inscription_actiris_and_the_nearest_antenna(db):
    found = competence.resolve(db, "emploi", "Ixelles")
    assert found.location.id == slug_id("location", "actiris-ixelles")
    # Forest has no antenna: its neighbour Ixelles has one.
    assert competence.resolve(db, "emploi", "Forest").location.id == found.location.id


def test_competent_honours_residents_only(db):
    ixelles = store.get_service(db, sid("cpas-ixelles-social"))
    assert competence.competent(ixelles, "Ixelles")
    assert competence.competent(ixelles, "Elsene")
    assert not competence.competent(ixelles, "Schaerbeek")
    assert not competence.competent(ixelles, "Wavre")
    actiris = store.get_service(db, sid("actiris-inscription"))
    assert competence.competent(actiris, "Jette") and not competence.competent(actiris, "Wavre")
    forem = store.get_service(db, sid("forem-wavre-inscription"))
    assert competence.competent(forem, "Jodoigne") and not competence.competent(forem, "Uccle")
    # Open to all: the first-line legal advice serves anyone who comes, whatever the area.
    baj = store.get_service(db, sid("baj-bruxelles-premiere-ligne"))
    assert competence.competent(baj, "Wavre") and not competence.covers(baj, "Wavre")
    national = Service(organization_id="x", name="n", description="d",
                       areas=[Area(kind="country", name="Belgique")],
                       access=replace(baj.access, residents_only=True))
    assert competence.competent(national, "Tubize")


def test_the_most_precise_area_wins(db):
    # A regional service that also says it acts as CPAS never beats the commune's own CPAS.
    actiris = store.get_service(db, sid("actiris-centre-contact"))
    store.save(db, replace(actiris, acts_as=["cpas"]), actor="test")
    assert competence.resolve(db, "cpas", "Jette").service.id == sid("cpas-jette-social")


def _role_pathway(db, **changes) -> Pathway:
    pathway = store.get_pathway(db, slug_id("pathway", "revenu-integration-cpas-bruxelles"))
    return replace(pathway, **changes)


def test_a_pathway_whose_role_cannot_resolve_is_refused(db):
    # Brussels pathway, and the CPAS of Evere stops acting as the CPAS: Evere's people would
    # be sent nowhere.
    evere = store.get_service(db, sid("cpas-evere-social"))
    with pytest.raises(PathwayInvalid) as caught:
        store.save(db, replace(evere, acts_as=[]), actor="test")
    assert caught.value.reason == "role-unresolved"
    assert caught.value.params == {"role": "cpas", "commune": "Evere"}
    assert store.get_service(db, evere.id).acts_as == ["cpas"]  # nothing was written


def test_a_pathway_covering_a_commune_without_a_cpas_is_refused(db):
    pathway = store.get_pathway(db, slug_id("pathway", "revenu-integration-cpas-wavre"))
    wider = replace(pathway, communes=[*pathway.communes, "Rebecq"])
    with pytest.raises(PathwayInvalid) as caught:
        store.save(db, wider, actor="test")
    assert (caught.value.reason, caught.value.step) == ("role-unresolved", 1)
    assert caught.value.params["commune"] == "Rebecq"
    # Without a declared list it covers all 27 communes of Brabant wallon: refused too.
    with pytest.raises(PathwayInvalid):
        store.save(db, replace(pathway, communes=[]), actor="test")


def test_an_unreachable_cpas_contact_refuses_the_pathway(db):
    evere = store.get_service(db, sid("cpas-evere-social"))
    # The CPAS keeps its walk-in hours: the person can still go there and ask.
    no_walk_in = [s for s in evere.schedules if s.attending_type != "walk_in"]
    store.save(db, replace(evere, schedules=no_walk_in), actor="test")
    for contact_id in evere.contact_ids:
        contact = store.get_contact(db, contact_id)
        staff_only = [replace(p, visibility="staff") for p in contact.phones]
        if contact_id == evere.contact_ids[-1]:
            with pytest.raises(PathwayInvalid) as caught:
                store.save(db, replace(contact, phones=staff_only), actor="test")
            assert caught.value.reason == "role-unresolved"
        else:
            store.save(db, replace(contact, phones=staff_only), actor="test")


def test_roles_survive_a_round_trip_and_check_all_is_clean(db):
    pathway = _role_pathway(db)
    assert [s.role for s in pathway.steps] == [None, "cpas", "baj"]
    wavre = store.get_pathway(db, slug_id("pathway", "revenu-integration-cpas-wavre"))
    assert len(wavre.communes) == 10 and "Braine-l'Alleud" in wavre.communes
    assert store.check_all(db) == []
    new = replace(pathway, id=slug_id("pathway", "copy"), need="Copie")
    store.save(db, new, actor="test")
    assert store.get_pathway(db, new.id).steps == pathway.steps


def test_seed_counts(db):
    orgs = store.list_organizations(db)
    cpas = [o for o in orgs if o.kind == "cpas"]
    assert len(cpas) == 19 + 10
    assert {o.name for o in orgs if o.kind == "emploi"} == {"Actiris", "Le Forem — Wavre"}


def test_hsds_publishes_service_areas(db):
    service = store.get_service(db, sid("cpas-ixelles-social"))
    data = hsds.service_full(db, service)
    [area] = data["service_areas"]
    assert area["name"] == "Ixelles" and area["service_id"] == service.id
    assert area["be_residents_only"] is True and area["be_kind"] == "commune"
    assert data["be_acts_as"] == ["cpas"]
    actiris = hsds.service_areas(store.get_service(db, sid("actiris-inscription")))
    assert [a["name"] for a in actiris] == ["Région de Bruxelles-Capitale"]


def test_areas_and_communes_name_places_the_directory_knows(db):
    ixelles = store.get_service(db, sid("cpas-ixelles-social"))
    for area in (Area(kind="commune", name="Atlantis"), Area(kind="region", name="mars")):
        with pytest.raises(InvalidData) as caught:
            store.save(db, replace(ixelles, areas=[area]), actor="test")
        assert caught.value.field == "areas[0]"
    pathway = store.get_pathway(db, slug_id("pathway", "perte-emploi-bruxelles"))
    with pytest.raises(InvalidData) as caught:
        store.save(db, replace(pathway, communes=["Ixelles", "Atlantis"]), actor="test")
    assert caught.value.field == "communes[1]"
