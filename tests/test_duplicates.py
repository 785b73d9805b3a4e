"""Likely duplicates across sources: one feed imported twice, under two source names and
written two ways, is found; a merge keeps the audit trail and the pathways; "not a
duplicate" stays dismissed."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from orientation import duplicates, importer, store
from orientation.cli import cli
from orientation.models import Pathway, PathwayStep


def _feed(*, phone: str, street: str, name: str, org: str, number: str) -> dict:
    return {"organizations": [{
        "id": "org-1", "name": org, "description": "Données d'exemple.",
        "organization_identifiers": [{"identifier_type": "BCE/KBO", "identifier": number}],
        "locations": [{"id": "loc-1", "name": "Siège", "addresses": [{
            "address_1": street, "city": "Ixelles", "postal_code": "1050", "country": "BE"}],
            "phones": [{"id": "ph-1", "number": phone}]}],
        "contacts": [{"id": "c-1", "name": "Claire Dumont", "title": "Assistante sociale",
                      "phones": [{"id": "ph-2", "number": phone}]}],
    }], "services": [{
        "id": "svc-1", "organization_id": "org-1", "name": name, "status": "active",
        "description": "Aide sociale générale, sur rendez-vous.",
        "service_at_locations": [{"location_id": "loc-1"}],
        "contacts": [{"id": "c-1"}],
    }]}


@pytest.fixture
def two_sources(db, tmp_path):
    region = tmp_path / "region.json"
    region.write_text(json.dumps(_feed(
        phone="+32 2 555 01 01", street="Avenue de la Couronne 12", number="0212.345.678",
        name="Service social du CPAS de l'Exemple", org="CPAS de l'Exemple")))
    cpas = tmp_path / "cpas.json"
    cpas.write_text(json.dumps(_feed(
        phone="02/555.01.01", street="Av. de la Couronne, 12", number="BE 0212 345 678",
        name="CPAS de l’Exemple — service social", org="C.P.A.S. de l'Exemple")))
    importer.load(db, region, source="region")
    importer.load(db, cpas, source="cpas")
    ids = {src: store.id_by_source(db, "service", f"{src}:svc-1") for src in ("region", "cpas")}
    orgs = {src: store.id_by_source(db, "organization", f"{src}:org-1")
            for src in ("region", "cpas")}
    return ids, orgs, cpas


def test_the_same_service_from_two_sources_is_found(db, two_sources):
    ids, orgs, _ = two_sources
    pairs = {(p.entity, frozenset((p.a_id, p.b_id))): p for p in duplicates.find(db)}
    service = pairs[("service", frozenset(ids.values()))]
    assert service.reasons == ["same organisation number", "same phone number",
                               "same address", "similar name (1.00)"]
    org = pairs[("organization", frozenset(orgs.values()))]
    assert "same organisation number" in org.reasons
    # The seed's own records are not proposed: only the imported pair and its organisation.
    assert len(pairs) == 2


def test_merge_keeps_history_pathways_and_the_source(db, two_sources):
    ids, _, cpas_feed = two_sources
    keep, other = ids["region"], ids["cpas"]
    duplicates.find(db)
    other_service = store.get_service(db, other)
    term = store.list_terms(db)[0]
    pathway = Pathway(need="J'ai besoin d'une aide sociale", themes=[term.id], steps=[
        PathwayStep(service_id=other, contact_id=other_service.contact_ids[0],
                    location_id=other_service.location_ids[0],
                    action="Prenez rendez-vous au service social.")])
    store.save(db, pathway, actor="editor")

    duplicates.merge(db, "service", keep, other, actor="editor@cpas")

    kept, merged = store.get_service(db, keep), store.get_service(db, other)
    assert (merged.status, merged.merged_into, merged.source_id) == ("inactive", keep, None)
    assert set(other_service.contact_ids) <= set(kept.contact_ids)
    assert store.get_pathway(db, pathway.id).steps[0].service_id == keep
    assert store.check_all(db) == []
    kept_rows = [(e.actor, e.field, e.after) for e in store.history(db, "service", keep)]
    assert ("editor@cpas", "merged_from", other) in kept_rows
    merged_fields = {e.field for e in store.history(db, "service", other)
                     if e.actor == "editor@cpas"}
    assert {"status", "merged_into", "source_id"} <= merged_fields
    assert all(p.entity != "service" for p in duplicates.find(db))
    # The merged source imported again updates the kept record, no duplicate comes back.
    report = importer.load(db, cpas_feed, source="cpas")
    assert report.created.get("service", 0) == 0
    assert store.get_service(db, other).status == "inactive"


def test_not_a_duplicate_stays_dismissed(db, two_sources):
    _, orgs, _ = two_sources
    duplicates.find(db)
    duplicates.dismiss(db, "organization", orgs["cpas"], orgs["region"], actor="admin")
    assert all(p.entity != "organization" for p in duplicates.find(db))
    assert store.get_duplicate(db, "organization", *orgs.values())["status"] == "dismissed"


def test_cli_lists_pairs_and_import_reports_them(db_path, tmp_path):
    feed = tmp_path / "a.json"
    feed.write_text(json.dumps(_feed(phone="02 555 01 01", street="Rue Haute 3",
                                     number="0212345678", name="Épicerie sociale",
                                     org="Épicerie")))
    runner = CliRunner()
    first = runner.invoke(cli, ["import", "--db", str(db_path), str(feed), "--source", "a"])
    assert first.exit_code == 0 and "0 likely duplicate(s)" in first.output, first.output
    second = runner.invoke(cli, ["import", "--db", str(db_path), str(feed), "--source", "b"])
    assert "2 likely duplicate(s)" in second.output, second.output
    listed = runner.invoke(cli, ["duplicates", "--db", str(db_path)])
    assert listed.exit_code == 0
    assert "service 1.00: 'Épicerie sociale'" in listed.output
    assert listed.output.strip().endswith("2 likely duplicate(s)")


@pytest.mark.parametrize("a, b", [("+32 2 555 01 01", "02/555.01.01"),
                                  ("0032 (0)2 555 01 01", "02 555 01 01 ext. 12")])
def test_phone_numbers_written_differently_are_one(a, b):
    assert duplicates.phone_key(a) == duplicates.phone_key(b) == "025550101"


def test_staff_page_shows_pairs_side_by_side_and_merges(db_path, two_sources_path, tmp_path):
    """An admin merges from /staff/duplicates; the pair leaves the page."""
    import re

    from litestar.testing import TestClient

    from api.app import create_app
    from conftest import TEST_HOST
    from orientation import accounts

    keep, other = two_sources_path
    db = store.connect(db_path)
    accounts.create_user(db, "ada", "correct horse battery", role="admin", actor="test")
    db.close()
    app = create_app(db_path, tmp_path / "index", settings={"allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        page = client.get("/staff/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        client.post("/staff/login", data={"username": "ada", "password": "correct horse battery",
                                          "csrf": token, "next": "/staff"})
        page = client.get("/staff/duplicates")
        assert page.status_code == 200
        assert "même numéro de téléphone" in page.text and "Pas un doublon" in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        a, b = sorted((keep, other))
        done = client.post(f"/staff/duplicates/service/{a}/{b}",
                           data={"csrf": token, "action": "keep-a"}, follow_redirects=False)
        assert done.status_code == 303, done.text
        assert f"/staff/duplicates/service/{a}/{b}" not in client.get("/staff/duplicates").text
    db = store.connect(db_path)
    assert store.get_service(db, b).merged_into == a
    db.close()


@pytest.fixture
def two_sources_path(db, two_sources):
    ids, _, _ = two_sources
    duplicates.find(db)
    return ids["region"], ids["cpas"]


@pytest.mark.parametrize("fmt", ["hsds-json", "ndjson", "csv"])
def test_organisation_number_travels_through_export_and_import(db, empty_db, tmp_path, fmt):
    """The number is HSDS organization_identifiers on the way out and read back on the way in
    (``0212.345.678`` as the BCE writes it is stored as its ten digits)."""
    from orientation import export
    from orientation import seed as seeding

    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(_feed(phone="02 555 01 01", street="Rue Haute 3",
                                     number="0212.345.678", name="Épicerie", org="Épicerie")))
    importer.load(db, feed, source="feed")
    out = tmp_path / ("out" if fmt == "csv" else f"out.{fmt}")
    export.export(db, out, fmt, complete=True)
    seeding.ensure_taxonomy(empty_db)
    importer.load(empty_db, out, source="copy")
    numbers = {o.name: o.company_number for o in store.list_organizations(empty_db)}
    assert numbers["Épicerie"] == "0212345678"


def test_organisation_number_is_published_as_hsds(db_path, tmp_path, monkeypatch):
    """GET /hsds/organizations/{id} carries the number as organization_identifiers, valid
    against HSDS and against our profile (strict)."""
    import hsds_check
    from litestar.testing import TestClient

    from api.app import create_app
    from conftest import TEST_HOST

    monkeypatch.setattr(hsds_check, "STRICT_PROFILE", True)
    db = store.connect(db_path)
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(_feed(phone="02 555 01 01", street="Rue Haute 3",
                                     number="0212.345.678", name="Épicerie", org="Épicerie")))
    importer.load(db, feed, source="feed")
    org_id = store.id_by_source(db, "organization", "feed:org-1")
    db.close()
    app = create_app(db_path, tmp_path / "index", settings={"allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        data = client.get(f"/hsds/organizations/{org_id}").json()
    assert [(i["identifier_type"], i["identifier"]) for i in data["organization_identifiers"]] \
        == [("BCE/KBO", "0212345678")]
    hsds_check.check(data, "organization")
