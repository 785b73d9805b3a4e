"""The right place for the person's commune, everywhere: search filters and ranking, the API,
the staff console (its "Commune de la personne" field, pathway view, slip, "who to call now")
and the pathway invariant on API writes. On the real seed, a real index and a real app.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from litestar.testing import TestClient

from api.app import create_app
from orientation import accounts, communes, competence, contacts, hours, store
from orientation.models import slug_id
from orientation.search import Filters, SearchIndex
from conftest import TEST_HOST

#: A Tuesday morning: the housing desks of Brussels and the shelters both answer.
TUESDAY_10 = dt.datetime(2026, 12, 8, 10, 0, tzinfo=hours.TZ)
PASSWORD = "correct horse battery"


def sid(slug: str) -> str:
    return slug_id("service", slug)


def pid(slug: str) -> str:
    return slug_id("pathway", slug)


@pytest.fixture(scope="module")
def seeded(seeded_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("right-place")
    import shutil
    shutil.copy(seeded_template, folder / "ro.db")
    db = store.connect(folder / "ro.db")
    index = SearchIndex.create(folder / "index", db)
    yield db, index
    index.close()
    db.close()


def every(index, db, query="", **kwargs) -> list:
    hits, offset = [], 0
    while True:
        page = index.search(db, query, limit=100, offset=offset, at=TUESDAY_10, **kwargs)
        hits += page.hits
        offset += 100
        if offset >= page.total:
            return hits


# --- Filters: "serves the people of" and "has a place in" -----------------------------------


def test_commune_filter_keeps_what_serves_the_people_of_the_commune(seeded):
    db, index = seeded
    wavre = {h.id for h in every(index, db, "inscription", filters=Filters(commune="Wavre"))}
    assert sid("forem-wavre-inscription") in wavre
    assert sid("actiris-inscription") not in wavre  # Brussels residents only
    ixelles = {h.id for h in every(index, db, filters=Filters(commune="Ixelles"))}
    assert {sid("actiris-inscription"), sid("cpas-ixelles-social")} <= ixelles
    assert sid("cpas-schaerbeek-social") not in ixelles  # the CPAS of another commune
    assert sid("forem-wavre-inscription") not in ixelles
    # A service without areas serves everyone; "located in" is the other question.
    located = {h.id for h in every(index, db, filters=Filters(located_in="Schaerbeek"))}
    assert sid("cpas-schaerbeek-social") in located and sid("actiris-inscription") not in located


def test_a_pathway_serves_the_communes_it_covers(seeded):
    db, index = seeded
    rebecq = {h.id for h in every(index, db, filters=Filters(commune="Rebecq", kind="pathway"))}
    assert pid("perte-emploi-brabant-wallon") in rebecq
    # The Wavre CPAS pathway names the ten communes whose CPAS the seed knows.
    assert pid("revenu-integration-cpas-wavre") not in rebecq
    assert pid("logement-moins-cher-bruxelles") not in rebecq
    wavre = {h.id for h in every(index, db, filters=Filters(commune="Wavre", kind="pathway"))}
    assert pid("revenu-integration-cpas-wavre") in wavre


# --- Ranking: the person's region first, labelled otherwise ---------------------------------


@pytest.mark.parametrize("home", ["Ixelles", "Wavre", "Jette", "Nivelles"])
@pytest.mark.parametrize("query", ["logement", "chomage", "energie", "dettes", "cpas",
                                   "loyer trop cher", "perdu mon boulot", ""])
def test_no_other_region_above_the_persons_own(seeded, home, query):
    db, index = seeded
    hits = every(index, db, query, near=home, filters=Filters(needs=["logement"])
                 if not query else None)
    assert hits
    region = communes.region(home)
    places = [2 if h.elsewhere else 1 if h.outside else 0 for h in hits]
    assert places == sorted(places), [(h.title, h.elsewhere, h.outside) for h in hits[:15]]
    for hit in hits:
        record = store.get(db, hit.kind, hit.id)
        if hit.elsewhere:
            assert hit.elsewhere != region
        if hit.kind == "service" and hit.outside:
            assert not competence.competent(record, home)


def test_home_is_the_persons_commune_near_the_kiosk(seeded):
    db, index = seeded
    # A person of Wavre at a Brussels kiosk: their region first, the kiosk's labelled.
    hits = index.search(db, "perdu mon boulot", near="Ixelles", home="Wavre", limit=100,
                        pathways_first=True, at=TUESDAY_10).hits
    assert pid("perte-emploi-brabant-wallon") in [h.id for h in hits[:3]]
    places = [h.elsewhere is not None for h in hits]
    assert places == sorted(places) and {h.elsewhere for h in hits} == {None, "bruxelles"}
    brussels = index.search(db, "perdu mon boulot", near="Ixelles", limit=20).hits
    assert [h for h in brussels if h.elsewhere][0].elsewhere == "brabant-wallon"


@pytest.mark.parametrize("near, expected", [
    ("Ixelles", ["perte-emploi-bruxelles"]),
    # Both register at Le Forem first, then claim (with a union, or at the CAPAC).
    ("Wavre", ["perte-emploi-brabant-wallon", "chomage-capac-brabant-wallon"])])
def test_perdu_mon_boulot_leads_to_registering_and_a_first_claim(seeded, near, expected):
    db, index = seeded
    first = index.search(db, "perdu mon boulot", near=near, pathways_first=True).hits[0]
    assert first.id in {pid(p) for p in expected}


@pytest.mark.parametrize("near, expected", [
    ("Ixelles", "logement-moins-cher-bruxelles"), ("Wavre", "logement-moins-cher-brabant-wallon"),
    ("Schaerbeek", "logement-moins-cher-bruxelles")])
def test_loyer_trop_cher_leads_to_a_cheaper_home(seeded, near, expected):
    db, index = seeded
    assert index.search(db, "loyer trop cher", near=near).hits[0].id == pid(expected)


def test_chomage_puts_the_first_claim_before_the_error_cases(seeded):
    db, index = seeded
    pathways = [h.id for h in index.search(db, "chomage", near="Anderlecht",
                                           pathways_first=True).hits if h.kind == "pathway"]
    assert pathways[0] == pid("perte-emploi-bruxelles")
    first_error = min(pathways.index(pid(p)) for p in (
        "chomage-erreur-capac-bruxelles", "chomage-erreur-syndicat-bruxelles"))
    assert first_error > 0


# --- The API ----------------------------------------------------------------------------------


def test_api_commune_is_served_located_in_is_a_place_and_ranks_own_region_first(api_client):
    body = api_client.get("/api/v1/services", params={
        "q": "inscription emploi", "commune": "Wavre", "per_page": 50}).json()
    ids = [item["id"] for item in body["items"]]
    assert sid("forem-wavre-inscription") in ids and sid("actiris-inscription") not in ids
    located = api_client.get("/api/v1/services", params={
        "located_in": "Schaerbeek", "per_page": 100}).json()
    assert located["total"] and all("Schaerbeek" in item["communes"]
                                    for item in located["items"])
    # Region first: with commune=Ixelles, no Brabant wallon service above a Brussels one.
    ranked = api_client.get("/api/v1/services", params={
        "q": "logement", "commune": "Ixelles", "per_page": 100}).json()["items"]
    regions = [any(communes.region(c) == "bruxelles" for c in item["communes"])
               or not item["communes"] for item in ranked]
    assert regions == sorted(regions, reverse=True) and regions[0]
    for name in ("commune", "located_in"):
        response = api_client.get("/api/v1/services", params={name: "Atlantis"})
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == name


def test_api_write_refused_when_a_role_does_not_resolve(api_client, api_keys, db):
    pathway = store.get_pathway(db, pid("revenu-integration-cpas-wavre"))
    response = api_client.patch(f"/api/v1/pathways/{pathway.id}",
                                json={"communes": [*pathway.communes, "Rebecq"]},
                                headers=api_keys.headers["admin"])
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["reason"] == "role-unresolved"
    assert body["params"] == {"role": "cpas", "commune": "Rebecq"} and body["step"] == 1
    assert "Rebecq" in body["detail"]
    assert store.get_pathway(db, pathway.id).communes == pathway.communes


# --- The staff console ------------------------------------------------------------------------


@pytest.fixture
def console(db_path, tmp_path, index_dir):
    db = store.connect(db_path)
    accounts.create_user(db, "sam", PASSWORD, role="staff", display_name="Sam", actor="test")
    db.close()
    app = create_app(db_path, index_dir, settings={
        "allowed_hosts": TEST_HOST, "printer_target": str(tmp_path / "slips")})
    with TestClient(app) as client:
        page = client.get("/staff/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/staff/login", data={"username": "sam", "password": PASSWORD,
                                          "csrf": token, "next": "/staff"})
        yield client


def test_console_residence_filters_ranks_labels_and_is_kept_for_the_session(console):
    page = console.get("/staff/search", params={"q": "chomage", "commune": "Ixelles"})
    assert page.status_code == 200
    assert 'name="commune" value="Ixelles"' in page.text
    cookie = page.headers["set-cookie"]
    assert "staff_commune=ixelles" in cookie and "Max-Age" not in cookie \
        and "expires" not in cookie.lower()
    titles = re.findall(r'<h3[^>]*><a href="/staff/(?:service|pathway)/[^"]+">([^<]+)</a>', page.text)
    labelled = page.text.count('class="badge warn elsewhere"')
    # Its region first; another region's results (if any on the page) come last, labelled.
    assert "CPAS de Schaerbeek" not in page.text
    if labelled:
        tail = page.text.split('class="badge warn elsewhere"')[0]
        # (the first labelled result's own line included)
        assert len(re.findall(r'<li class="result', tail)) == len(titles) - labelled + 1
    # The next search remembers the person's commune without the field in the URL...
    again = console.get("/staff/search", params={"q": "revenu integration", "kind": "pathway"})
    assert 'name="commune" value="Ixelles"' in again.text
    # ...and the pathway view and the slip resolve "le CPAS de votre commune" with it.
    view = console.get(f"/staff/pathway/{pid('revenu-integration-cpas-bruxelles')}").text
    assert "Carvalho" in view and "Yılmaz" not in view
    slip = console.get("/staff/slip", params={
        "pathway": pid("revenu-integration-cpas-bruxelles")}).text
    assert "Carvalho" in slip and "Yılmaz" not in slip
    # Emptying the field forgets it; logging out too.
    cleared = console.get("/staff/search", params={"q": "chomage", "commune": ""})
    assert 'staff_commune=""' in cleared.headers.get("set-cookie", "") \
        or "staff_commune=;" in cleared.headers.get("set-cookie", "")
    view = console.get(f"/staff/pathway/{pid('revenu-integration-cpas-bruxelles')}").text
    assert "Yılmaz" in view  # the default CPAS again


def test_console_unknown_residence_is_a_message(console):
    page = console.get("/staff/search", params={"q": "logement", "commune": "Atlantis"})
    assert page.status_code == 200 and "Atlantis" in page.text
    assert "Recherche impossible" in page.text


# --- Who can I call now -----------------------------------------------------------------------


def _logement(db) -> tuple[list[str], list[str]]:
    term = store.get_term_by_code(db, "logement")
    wanted = [term.id, *(t.id for t in store.list_terms(db) if t.parent_id == term.id)]
    services = [s.id for s in store.iter_services(db, status="active")
                if set(wanted) & set(s.needs)]
    return wanted, services


def test_who_to_call_for_housing_near_ixelles_starts_with_housing_offices(db):
    wanted, services = _logement(db)
    plan = contacts.who_to_call(db, services, TUESDAY_10, staff=True, commune="Ixelles",
                                needs=wanted)
    assert plan.now
    services = [store.get_service(db, r.service_id) for r in plan.now]
    first = services[0]
    assert first.needs[0] in wanted and "violences" not in first.needs, first.name
    # Its region first (the other labelled), then mainly-housing offices before services
    # for which housing is one need among others (a shelter for victims of violence).
    regions = [r.elsewhere is None for r in plan.now]
    assert regions == sorted(regions, reverse=True) and regions[0]
    housing = [s.needs[0] in wanted for s, own in zip(services, regions) if own]
    assert housing == sorted(housing, reverse=True)
    shelter = next(n for n, s in enumerate(services) if "violences" in " ".join(
        store.get_term(db, t).code for t in s.needs))
    assert shelter > max(n for n, s in enumerate(services) if s.needs[0] in wanted
                         and regions[n])
    # Another commune's CPAS (residents only) is never proposed.
    for r in plan.now + plan.upcoming:
        assert competence.competent(store.get_service(db, r.service_id), "Ixelles")


def test_the_call_page_takes_the_persons_commune(console):
    page = console.get("/staff/call/need/logement", params={"commune": "Ixelles"})
    assert page.status_code == 200
    assert 'value="Ixelles"' in page.text and "Commune de la personne" in page.text
    assert console.get("/staff/call/need/logement",
                       params={"commune": "Atlantis"}).status_code == 422


# --- Energy: the person's own CPAS, in either region -----------------------------------------


def test_the_brussels_energy_pathway_sends_each_person_to_their_cpas(db):
    pathway = store.get_pathway(db, pid("facture-energie-limiteur-bruxelles"))
    assert [s.role for s in pathway.steps] == [None, "cpas", None]
    for commune, cpas in (("Ixelles", "cpas-ixelles-social"), ("Jette", "cpas-jette-social")):
        assert competence.localize(db, pathway, commune).steps[1].service_id == sid(cpas)
    # The Wavre one names the CPAS de Wavre: it is for the people of Wavre.
    wavre = store.get_pathway(db, pid("facture-energie-impayee-wavre"))
    assert competence.covered_communes(wavre) == ["Wavre"]


#: Steps that sent everyone to one commune's CPAS (issue #10), now the person's own CPAS.
CONVERTED = {
    "ecole-application-bruxelles": 3, "enfant-decrochage-scolaire-bruxelles": 2,
    "personne-agee-seule-demarches-bruxelles": 3, "soins-sans-argent-bruxelles": 3,
    "risque-expulsion-bruxelles": 3, "dettes-huissier-bruxelles": 1,
    "personne-agee-seule-en-ligne-brabant-wallon": 3, "remboursement-mutuelle-brabant-wallon": 3,
    "banque-guichet-ferme-brabant-wallon": 3,
}


@pytest.mark.parametrize("slug, number", sorted(CONVERTED.items()))
def test_converted_cpas_steps_send_a_resident_elsewhere_to_their_own_cpas(db, slug, number):
    pathway = store.get_pathway(db, pid(slug))
    assert pathway.steps[number - 1].role == "cpas"
    # A commune of the region whose CPAS is not the step's default one.
    home = "Ixelles" if pathway.region == "bruxelles" else "Wavre"
    assert home in competence.covered_communes(pathway)
    organization = slug_id("organization", "cpas-" + home.lower())
    localized = competence.localize(db, pathway, home)
    for step, original in zip(localized.steps, pathway.steps):
        if original.role != "cpas":
            continue
        service = store.get_service(db, step.service_id)
        assert service.organization_id == organization, (slug, service.name)
        assert "cpas" in service.acts_as
        assert step.service_id != original.service_id
