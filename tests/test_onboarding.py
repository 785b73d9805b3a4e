"""Starting from real data: the needs taxonomy in every database, source categories mapped to
needs through the editable category map, "Données d'exemple" only while the sample is loaded,
and the way from the sample directory to a real one."""

from __future__ import annotations

import html as htmllib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from orientation import seed as seeding
from orientation import store
from orientation.cli import cli
from orientation.importer import CategoryMap, load, unmapped_categories

from conftest import local_settings

DATA = Path(__file__).parent / "data"
TILE = re.compile(r'href="/need/([a-z-]+)"')
SAMPLE = "Données d'exemple"


def _tiles(db_path: Path, tmp_path: Path) -> tuple[list[str], str]:
    app = create_app(db_path, tmp_path / "index", settings=local_settings(tmp_path))
    with TestClient(app) as client:
        html = htmllib.unescape(client.get("/").text)
    return list(dict.fromkeys(TILE.findall(html))), html


@pytest.fixture(scope="module")
def baltimore(tmp_path_factory) -> Path:
    """The Baltimore iCarol export imported into a new database, once for the module."""
    path = tmp_path_factory.mktemp("baltimore") / "o.db"
    result = CliRunner().invoke(cli, ["import", "--db", str(path), "--create",
                                      str(DATA / "baltimore-icarol" / "icarol-csv")])
    assert result.exit_code == 0, result.output
    return path


def test_a_real_feed_imported_into_an_empty_database_shows_the_ten_needs(baltimore, tmp_path):
    db_path = tmp_path / "o.db"
    shutil.copy(baltimore, db_path)
    tiles, html = _tiles(db_path, tmp_path)
    assert tiles == ["argent", "logement", "energie", "sante", "emploi", "papiers", "famille",
                     "numerique", "urgence", "droits"]
    assert SAMPLE not in html


def test_baltimore_categories_reach_needs_through_the_map(baltimore):
    db = store.connect(baltimore)
    codes = {t.id: t.code for t in store.list_terms(db)}
    needs: dict[str, int] = {}
    services = list(store.iter_services(db))
    for service in services:
        for need in service.needs:
            needs[codes[need]] = needs.get(codes[need], 0) + 1
    # Open Eligibility ids (service_categories.json) and AIRS codes (iCarol) both count.
    assert needs["aide-alimentaire"] > 100 and needs["sante-mentale"] > 100
    assert needs["sans-abri"] > 20 and needs["handicap"] > 100
    assert sum(1 for s in services if s.needs) > len(services) // 2
    # Category names stay keywords; AIRS codes are no words for people.
    pantry = next(s for s in services if "Food Pantry" in s.keywords)
    assert not any(re.fullmatch(r"[A-Z]{1,2}(-[\d.]+)*", k) for k in pantry.keywords)
    assert not store.sample_data(db)


def test_check_lists_the_categories_the_map_does_not_know(baltimore, tmp_path):
    db = store.connect(baltimore)
    lines = unmapped_categories(db)
    assert lines and all("maps to no need" in line for line in lines)
    # Most used first, with the source and the map to edit.
    assert lines[0].startswith("source icarol-csv: category ")
    assert "add it to category_map.yaml" in lines[0]
    counts = [int(re.search(r"\((\d+) services\)", line)[1]) for line in lines]
    assert counts == sorted(counts, reverse=True)
    result = CliRunner().invoke(cli, ["check", "--db", str(baltimore)])
    assert result.exit_code == 1 and lines[0] in result.output
    # One line per top-level code an editor would add, not one per leaf code.
    assert len(lines) * 5 < len(store.source_categories(db))
    # Editing the map (here: the most used gap) makes its line go away.
    top = re.search(r"category (\S+)", lines[0])[1]
    default = CategoryMap.load()
    edited = tmp_path / "map.yaml"
    edited.write_text(default.path.read_text(encoding="utf-8").replace(
        "\nairs:\n", f"\nairs:\n  {top}: droits\n", 1), encoding="utf-8")
    after = unmapped_categories(db, edited)
    assert len(after) == len(lines) - 1 and lines[0] not in after


def test_a_uk_feed_imported_into_an_empty_database_shows_the_needs(tmp_path):
    db_path = tmp_path / "o.db"
    result = CliRunner().invoke(cli, ["import", "--db", str(db_path), "--create",
                                      str(DATA / "oruk-bristol" / "bristol_council.json")])
    assert result.exit_code == 0, result.output
    tiles, html = _tiles(db_path, tmp_path)
    assert len(tiles) == 10 and SAMPLE not in html
    db = store.connect(db_path)
    assert store.counts(db)["service"] == 811


def test_full_oruk_records_map_their_taxonomy_terms(empty_db, tmp_path):
    feed = tmp_path / "full.json"
    feed.write_text("""[{"id": "s1", "name": "Bristol Foodbank", "description": "Food parcels",
      "status": "active", "deliverable_type": "Advice",
      "organization": {"id": "o1", "name": "Foodbank Trust"},
      "service_taxonomys": [{"id": "st1", "taxonomy": {"id": "t1", "name": "Food banks",
                                                        "vocabulary": "BCC categories"}},
                            {"id": "st2", "taxonomy": {"id": "t2", "name": "Bingo nights",
                                                        "vocabulary": "BCC categories"}}]}]""",
                    encoding="utf-8")
    load(empty_db, feed, source="bcc")
    [service] = list(store.iter_services(empty_db))
    codes = {t.id: t.code for t in store.list_terms(empty_db)}
    assert [codes[n] for n in service.needs] == ["aide-alimentaire"]
    assert "Food banks" in service.keywords
    [line] = unmapped_categories(empty_db)
    assert "'Bingo nights'" in line and "BCC categories" in line


def test_belgian_addresses_get_their_commune_and_region(empty_db):
    load(empty_db, DATA / "excel-cp1252" / "package", source="excel")
    regions = {loc.address.city: loc.address.region for loc in store.list_locations(empty_db)
               if loc.address}
    assert regions == {"Bruxelles": "bruxelles", "Saint-Gilles": "bruxelles",
                       "Liège": "wallonie"}


def test_a_bad_category_map_is_refused_by_name(empty_db, tmp_path):
    bad = tmp_path / "map.yaml"
    bad.write_text("names:\n  Food: [Aide alimentaire!]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["import", "--db", str(tmp_path / "x.db"), "--create",
                                      "--category-map", str(bad),
                                      str(DATA / "oruk-bristol" / "bristol_page.json")])
    assert result.exit_code == 1
    assert "map.yaml" in result.output and "need code" in result.output
    assert not (tmp_path / "x.db").exists()


def test_seed_without_sample_then_import_then_remove(tmp_path):
    runner = CliRunner()
    db_path = tmp_path / "o.db"
    result = runner.invoke(cli, ["seed", "--db", str(db_path), "--no-sample"])
    assert result.exit_code == 0, result.output
    assert "43 taxonomy terms" in result.output
    db = store.connect(db_path)
    assert store.counts(db)["organization"] == 0 and not store.sample_data(db)
    tiles, html = _tiles(db_path, tmp_path)
    assert len(tiles) == 10 and SAMPLE not in html


def test_the_sample_footer_follows_the_sample_data(db_path, tmp_path):
    tiles, html = _tiles(db_path, tmp_path / "a")
    assert SAMPLE in html and len(tiles) == 10
    runner = CliRunner()
    result = runner.invoke(cli, ["import", "--db", str(db_path),
                                 str(DATA / "oruk-bristol" / "bristol_page.json")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["seed", "--db", str(db_path), "--remove-sample"])
    assert result.exit_code == 0, result.output
    assert "79 organizations" in result.output and f"{len(list((Path(seeding.DEFAULT_SEED_DIR) / 'pathways').glob('*.yaml')))} pathways" in result.output
    db = store.connect(db_path)
    counts = store.counts(db)
    # The imported organisations stay, the sample ones are gone; the taxonomy stays.
    assert counts["organization"] == 4 and counts["pathway"] == 0
    assert counts["taxonomy_term"] == 43 and not store.sample_data(db)
    assert store.history(db, "organization", seeding.slug_id("organization", "actiris"))
    tiles, html = _tiles(db_path, tmp_path / "b")
    assert SAMPLE not in html and len(tiles) == 10


def test_export_directory_is_named_for_what_it_is(db_path, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--help"])
    assert "--directory" in result.output and "orientation backup" in result.output
    assert "--complete" not in result.output
    new = runner.invoke(cli, ["export", "--db", str(db_path), "--directory",
                              "-o", str(tmp_path / "a.json")])
    old = runner.invoke(cli, ["export", "--db", str(db_path), "--complete",
                              "-o", str(tmp_path / "b.json")])
    assert new.exit_code == old.exit_code == 0
    assert "--complete is now --directory" in old.output
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
