"""Import of real directories (tests/data/, see its README for sources and licences), one
transaction with errors naming file, row and field, re-import by source id, and export ->
import round trips in every format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from hsds_check import check, check_page
from orientation import export, importer, store
from orientation.cli import cli
from conftest import TEST_HOST

DATA = Path(__file__).parent / "data"
OHANA = DATA / "ohana-sample" / "sample-csv"
BALTIMORE = DATA / "baltimore-icarol" / "icarol-csv"
HSDS_11 = DATA / "hsds-1.1-sample" / "all_resources"
BRISTOL = DATA / "oruk-bristol" / "bristol_council.json"


def everything(db) -> dict:
    """Every record of the directory, as plain data."""
    return {(entity, row["id"]): msgspec.to_builtins(store.get(db, entity, row["id"]))
            for entity, (table, _, _) in store.ENTITIES.items()
            for row in db.query(f"select id from [{table}]")}


def reasons(report) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for s in report.skipped:
        out[(s.entity, s.reason)] = out.get((s.entity, s.reason), 0) + 1
    return out


# --- the real datasets ----------------------------------------------------------------------


def test_ohana_sample_then_reimport_updates(empty_db):
    assert importer.detect(OHANA) == "hsds-csv"
    report = importer.load(empty_db, OHANA)
    assert report.created == {"organization": 8, "location": 22, "contact": 31, "service": 23}
    assert reasons(report) == {("holiday_schedule", "not a closure with real dates"): 4}
    counts = store.counts(empty_db)
    # a service given at a location gets that location's hours; "9am to 03:00" is overnight
    service = next(s for s in store.list_services(empty_db) if s.schedules
                   and any(r.closes_at == "24:00" for r in s.schedules))
    assert any(r.opens_at == "00:00" and r.closes_at == "03:00" for r in service.schedules)
    assert all(s.source_id.startswith("sample-csv:") for s in store.list_services(empty_db))

    again = importer.load(empty_db, OHANA)
    assert again.created == {}
    assert again.updated == report.created
    assert store.counts(empty_db) == counts


def test_baltimore_icarol_export(db):
    """748 orgs, 1,482 locations, 1,876 services, 737 contacts, into the seeded directory."""
    before = store.counts(db)
    report = importer.load(db, BALTIMORE, source="baltimore")
    assert report.created == {"organization": 748, "location": 1482, "contact": 737,
                              "service": 1875}
    # the one service of 1,876 without a location has no organisation either
    assert reasons(report) == {("service", "no organisation (no location either)"): 1}
    after = store.counts(db)
    assert after["service"] - before["service"] == 1875
    imported = [s for s in store.list_services(db)
                if (s.source_id or "").startswith("baltimore:")]
    assert len(imported) == 1875
    assert all(s.organization_id and s.location_ids for s in imported)
    # iCarol categories map onto our needs where their words say so ("Food Pantries")
    food = store.get_term_by_code(db, "aide-alimentaire").id
    pantries = [s for s in imported if any("Food Pantr" in k for k in s.keywords)]
    assert pantries and all(food in s.needs for s in pantries)
    assert len([s for s in imported if s.needs]) > 1000
    # "Spanish." becomes "es"; free text such as "Accommodations possible." is no language
    languages = {code for s in imported for code in s.languages}
    assert "es" in languages and all(len(code) <= 3 for code in languages)


def test_hsds_11_sample_package(empty_db):
    report = importer.load(empty_db, HSDS_11)
    assert report.created == {"organization": 10, "location": 10, "contact": 1,
                              "service": 13}
    assert reasons(report) == {("phone", "belongs to nothing"): 1}
    service = store.get_service(empty_db, "c89eb05c-62dd-4b64-b494-0cc347b6ea7f")
    assert service.name == "Never Homeless Helpline"
    assert {r.byday for r in service.schedules} == {"MO", "TU", "WE"}
    assert service.access.documents == ["Sample required document"]
    assert service.languages == ["en", "es"]
    assert service.closures[0].date_from.isoformat() == "2019-12-24"


def test_open_referral_uk_feed(empty_db):
    assert importer.detect(BRISTOL) == "oruk-json"
    report = importer.load(empty_db, BRISTOL)
    assert report.created == {"organization": 594, "service": 811}
    assert reasons(report) == {("service", "no name"): 1, ("service", "no organisation"): 6}
    # The feed gives one id twice: the copy with a description is kept, not the last one,
    # and the report names both rows.
    assert report.duplicates == [importer.Duplicate(
        "service", "2af617e5-4532-bebe-1036-ffdf2e93ce55", "bristol_council.json, row 374",
        ("bristol_council.json, row 811",))]
    assert ("  duplicate service id 2af617e5-4532-bebe-1036-ffdf2e93ce55: kept "
            "bristol_council.json, row 374 (more fields filled), dropped bristol_council.json, "
            "row 811") in report.lines()
    yoga = store.get_service(empty_db, "2af617e5-4532-bebe-1036-ffdf2e93ce55")
    assert yoga.name == "Fishponds Yoga for Fitness & Wellbeing"
    assert yoga.description.startswith("These yoga classes")
    services = store.list_services(empty_db)
    for service in services:
        assert "<p>" not in service.description  # the feed's HTML became plain text
        assert service.url is None or service.url.startswith(("http://", "https://"))
    # "www.example.org" in the feed becomes a URL that HSDS validators accept
    assert any(s.url == "http://www.autumnyearscommunitycare.com" for s in services)


def test_imported_data_through_the_hsds_api(db_path, index_dir):
    db = store.connect(db_path)
    importer.load(db, OHANA)
    importer.load(db, HSDS_11)
    db.close()
    app = create_app(db_path, index_dir, settings={"rate_limit": 0, "allowed_hosts": TEST_HOST})
    with TestClient(app) as client:
        page = client.get("/hsds/services?per_page=100&page=2").json()
        check_page(page, "service")
        db = store.connect(db_path)
        imported = [s for s in store.list_services(db) if s.source_id]
        assert len(imported) == 36
        for service in imported:
            body = client.get(f"/hsds/services/{service.id}").json()
            check(body, "service")
            for sal in body["service_at_locations"]:
                check(client.get(f"/hsds/service_at_locations/{sal['id']}").json(),
                      "service_at_location")
        for org in {s.organization_id for s in imported}:
            check(client.get(f"/hsds/organizations/{org}").json(), "organization")
        found = client.get("/api/v1/services?q=homeless&per_page=5")
        assert found.status_code == 200, found.text
        assert found.json()["total"] > 0
        db.close()


# --- malformed input ------------------------------------------------------------------------


def corrupt(tmp_path: Path, file: str, row: int, column: str, value: str) -> Path:
    folder = tmp_path / "package"
    shutil.copytree(OHANA, folder)
    lines = (folder / file).read_text(encoding="utf-8").splitlines(keepends=True)
    import csv
    import io

    rows = list(csv.reader(io.StringIO("".join(lines))))
    rows[row - 1][rows[0].index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    (folder / file).write_text(out.getvalue(), encoding="utf-8")
    return folder


@pytest.mark.parametrize("file, row, column, value, message", [
    ("locations.csv", 3, "latitude", "north-ish", "is not a number"),
    ("regular_schedules.csv", 4, "opens_at", "25:99", "not HH:MM"),
])
def test_malformed_csv_names_file_row_field_and_changes_nothing(db, tmp_path, file, row,
                                                               column, value, message):
    folder = corrupt(tmp_path, file, row, column, value)
    before = everything(db)
    generation = store.generation(db)
    with pytest.raises(importer.ImportFailed) as failed:
        importer.load(db, folder)
    text = str(failed.value)
    assert text.startswith(f"{file}, row {row}, field {column!r}: "), text
    assert message in text
    assert everything(db) == before and store.generation(db) == generation


def test_malformed_json_and_ndjson(db, tmp_path):
    before = everything(db)
    bad = tmp_path / "broken.ndjson"
    export.export(db, bad, "ndjson")
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4][:-5]  # cut a line short
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(importer.ImportFailed, match=r"^broken.ndjson, row 5: not valid JSON"):
        importer.load(db, bad)

    wrong = tmp_path / "services.json"
    services = list(export.services(db, export.ANONYMOUS))[:3]
    services[1]["name"] = {"fr": "pas un texte"}
    wrong.write_text(json.dumps(services), encoding="utf-8")
    with pytest.raises(importer.ImportFailed, match=r"^services.json, row 2, field 'name'"):
        importer.load(db, wrong)
    assert everything(db) == before


def test_cli_import_and_export(db_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(HSDS_11), "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert "service: 13 new, 0 updated" in result.output
    assert "skipped 1 phone(s): belongs to nothing" in result.output
    out = tmp_path / "export.json"
    result = runner.invoke(cli, ["export", "--format", "hsds-json", "-o", str(out),
                                 "--db", str(db_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["version"] == "3.1"
    folder = corrupt(tmp_path, "locations.csv", 2, "longitude", "far")
    result = runner.invoke(cli, ["import", str(folder), "--db", str(db_path)])
    assert result.exit_code == 1
    assert "nothing imported, database unchanged: locations.csv, row 2, field 'longitude'" \
        in result.output


# --- export -> import -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt, name", [("hsds-json", "directory.json"),
                                       ("ndjson", "directory.ndjson"), ("csv", "package")])
def test_complete_export_round_trips(db, tmp_path, fmt, name, ):
    counts = export.export(db, tmp_path / name, fmt, complete=True)
    assert counts["services"] == store.counts(db)["service"]
    target = store.connect(tmp_path / "copy.db")
    report = importer.load(target, tmp_path / name)
    assert report.skipped == []
    assert everything(target) == everything(db)
    again = importer.load(target, tmp_path / name)  # re-import: updates, no duplicates
    assert again.created == {} and store.counts(target) == store.counts(db)
    target.close()


def test_public_export_leaves_out_staff_lines(db, tmp_path):
    staff = [p.number for c in store.list_contacts(db) for p in c.phones
             if p.visibility == "staff"]
    confidential = [loc.address.street for loc in store.list_locations(db) if loc.confidential]
    assert staff and confidential
    export.export(db, tmp_path / "public.json", "hsds-json")
    text = (tmp_path / "public.json").read_text(encoding="utf-8")
    assert not [n for n in staff if n in text]
    assert not [s for s in confidential if s in text]
    for service in json.loads(text)["services"][:20]:
        check(service, "service")
    target = store.connect(tmp_path / "public.db")
    report = importer.load(target, tmp_path / "public.json")
    assert report.created["service"] == store.counts(db)["service"]
    target.close()


def test_official_hsds_31_examples(db):
    """Third-party HSDS 3.1 JSON: the paginated example imports; the full example is refused
    because its location has latitude 100, and the refusal changes nothing."""
    examples = Path(__file__).parent / "hsds" / "examples"
    report = importer.load(db, examples / "service_list.json")
    assert report.created == {"organization": 1, "service": 1}
    service = store.get_service(db, "ac148810-d857-441c-9679-408f346de14b")
    assert service.name == "Community Counselling"
    assert service.source_id == "service_list:ac148810-d857-441c-9679-408f346de14b"
    before = everything(db)
    with pytest.raises(importer.ImportFailed,
                       match=r"^service_full.json, field 'latitude': latitude must be between"):
        importer.load(db, examples / "service_full.json")
    assert everything(db) == before


# --- wrong input, said plainly --------------------------------------------------------------

EXCEL = DATA / "excel-cp1252" / "package"
OE_TAXONOMY = DATA / "open-eligibility" / "oe-sample.json"
BRISTOL_PAGE = DATA / "oruk-bristol" / "bristol_page.json"


def refused(db_path: Path, args: list[str]) -> str:
    """The CLI's one-line refusal of an import, checked to have changed nothing."""
    db = store.connect(db_path)
    before, generation = everything(db), store.generation(db)
    db.close()
    result = CliRunner().invoke(cli, ["import", "--db", str(db_path), *args])
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "Error: nothing imported, database unchanged: "), result.output
    db = store.connect(db_path)
    assert everything(db) == before and store.generation(db) == generation
    db.close()
    return lines[0]


@pytest.mark.parametrize("name, content", [
    ("empty.json", "{}"), ("list.json", "[]"), ("oe-sample.json", None),
    ("no-services.json", '{"organizations": [], "services": []}'),
])
def test_a_file_with_nothing_to_import_is_refused(db_path, tmp_path, name, content):
    path = tmp_path / name
    if content is None:
        shutil.copy(OE_TAXONOMY, path)  # the Open Eligibility taxonomy: terms, no services
    else:
        path.write_text(content, encoding="utf-8")
    line = refused(db_path, [str(path)])
    assert line.endswith(f"no organisations or services found in {name}: "
                         "is it an HSDS/ORUK export?")


def test_a_feed_whose_every_record_is_skipped_is_refused(db_path, tmp_path):
    items = json.loads(BRISTOL.read_text(encoding="utf-8"))[:3]
    for item in items:
        item["name"] = ""
    path = tmp_path / "nameless.json"
    path.write_text(json.dumps(items), encoding="utf-8")
    line = refused(db_path, [str(path)])
    assert "nothing to import from nameless.json: every record was skipped (service: no name)" \
        in line


def test_an_oruk_api_page_is_detected_and_imported(empty_db):
    page = json.loads(BRISTOL_PAGE.read_text(encoding="utf-8"))
    assert importer.detect(BRISTOL_PAGE) == "oruk-json"
    report = importer.load(empty_db, BRISTOL_PAGE)
    assert report.created == {"organization": 4, "service": 4}
    assert {s.name for s in store.list_services(empty_db)} == {
        item["name"] for item in page["content"]}
    # the same services as in the list feed the page was cut from: same ids
    assert {s.id for s in store.list_services(empty_db)} == {
        item["id"] for item in page["content"]}


@pytest.mark.parametrize("encoding", ["cp1252", "utf-8-sig", "utf-8"])
def test_a_belgian_excel_csv_package(empty_db, tmp_path, encoding):
    """Excel on a Belgian Windows saves Windows-1252 with semicolons and decimal commas; "CSV
    UTF-8" saves the same with a BOM. The file on disk is real cp1252 (see tests/data/README)."""
    assert "é".encode("cp1252") in (EXCEL / "services.csv").read_bytes()
    folder = tmp_path / "package"
    folder.mkdir()
    for file in EXCEL.iterdir():
        text = file.read_bytes().decode("cp1252")
        (folder / file.name).write_bytes(text.encode(encoding))
    report = importer.load(empty_db, folder)
    assert report.created == {"organization": 3, "location": 3, "service": 3}
    services = {s.name: s for s in store.list_services(empty_db)}
    assert set(services) == {"Consultations de médecine générale",
                             "Colis et épicerie à prix réduits", "Médiation de dettes"}
    assert services["Colis et épicerie à prix réduits"].access.cost_description == \
        "Carte d'accès : 5 € par an"
    # a quoted cell keeps its semicolon; « » and — come through
    assert "créanciers; reçu en français" in services["Médiation de dettes"].description
    assert "« pas à pas »" in services["Médiation de dettes"].description
    orgs = {o.name for o in store.list_organizations(empty_db)}
    assert "Service de médiation de dettes — Façade" in orgs
    locations = {loc.name: loc for loc in store.list_locations(empty_db)}
    assert locations["Maison médicale — rue du Béguinage"].latitude == 50.8521  # "50,8521"
    assert locations["Maison médicale — rue du Béguinage"].address.street == \
        "Rue du Béguinage 12"


@pytest.mark.parametrize("name", ["export.json", "export.ndjson", "no-suffix",
                                  "package/services.csv"])
def test_a_binary_file_is_refused(db_path, tmp_path, name):
    archive = shutil.make_archive(str(tmp_path / "archive"), "zip", OHANA)  # a real zip
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    shutil.copy(archive, path)
    line = refused(db_path, [str(path)])
    assert f"{Path(name).name}: not a text file (binary data)" in line


def test_a_number_where_text_belongs_names_the_field(db_path, tmp_path):
    items = json.loads(BRISTOL_PAGE.read_text(encoding="utf-8"))["content"]
    items[1]["name"] = 123
    oruk = tmp_path / "oruk.json"
    oruk.write_text(json.dumps(items), encoding="utf-8")
    assert refused(db_path, [str(oruk)]).endswith(
        "oruk.json, row 2, field 'name': expected text, found 123")

    hsds = tmp_path / "hsds.json"
    hsds.write_text(json.dumps({
        "organizations": [{"id": "o1", "name": "Asbl"}],
        "services": [{"id": "s1", "organization_id": "o1", "name": 123}]}), encoding="utf-8")
    assert "hsds.json, row 1, field 'name': Expected `str`, got `int`" in \
        refused(db_path, [str(hsds)])


def test_a_list_where_an_object_belongs_names_the_row(db_path, tmp_path):
    hsds = tmp_path / "hsds.json"
    hsds.write_text(json.dumps({
        "organizations": [{"id": "o1", "name": "Asbl"}],
        "services": [{"id": "s1", "organization_id": "o1", "name": "Accueil"},
                     {"id": "s2", "organization_id": "o1", "name": "Repas",
                      "languages": ["fr", "nl"]}]}), encoding="utf-8")
    assert "hsds.json, row 2: a value of the wrong kind" in refused(db_path, [str(hsds)])


@pytest.mark.parametrize("fmt", ["oruk-json", "hsds-json", "hsds-ndjson"])
def test_a_file_format_given_a_folder(db_path, fmt):
    line = refused(db_path, ["--format", fmt, str(OHANA)])
    assert line.endswith(f"{OHANA}: a folder, and format {fmt} is one file")


def test_a_duplicated_id_in_a_csv_package_keeps_the_fuller_row(empty_db, tmp_path):
    folder = tmp_path / "package"
    shutil.copytree(HSDS_11, folder)
    with (folder / "organizations.csv").open("a", encoding="utf-8") as f:
        f.write("1899600a-649c-11e6-8b77-86f30ca893d3,Sanctuary,,,,,,,,\n")  # row 12
    report = importer.load(empty_db, folder)
    assert report.duplicates == [importer.Duplicate(
        "organization", "1899600a-649c-11e6-8b77-86f30ca893d3",
        "organizations.csv, row 2", ("organizations.csv, row 12",))]
    org = store.get(empty_db, "organization", "1899600a-649c-11e6-8b77-86f30ca893d3")
    assert org.name == "Sanctuary Example City"


def test_cli_names_duplicated_ids(db_path, tmp_path):
    page = json.loads(BRISTOL_PAGE.read_text(encoding="utf-8"))
    poorer = {**page["content"][1], "description": "", "url": ""}
    page["content"].append(poorer)  # row 5: the id of row 2, fewer fields filled
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "--db", str(db_path), str(path)])
    assert result.exit_code == 0, result.output
    assert (f"  duplicate service id {poorer['id']}: kept page.json, row 2 (more fields "
            "filled), dropped page.json, row 5") in result.output.splitlines()
    service = store.get_service(store.connect(db_path), poorer["id"])
    assert service.description and service.url
