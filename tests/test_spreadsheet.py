"""A CPAS's partner list as a spreadsheet: CSV (Windows-1252, ;) or XLSX, a column mapping,
a dry run with errors in plain French, then the import."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from orientation import store
from orientation.cli import cli
from orientation.errors import InvalidData
from orientation.importer import spreadsheet

DATA = Path(__file__).parent / "data" / "spreadsheet"


def _imported(db) -> dict[str, tuple]:
    codes = {t.id: t.code for t in store.list_terms(db)}
    locations = {loc.id: loc for loc in store.list_locations(db)}
    out = {}
    for service in store.iter_services(db):
        loc = locations[service.location_ids[0]]
        out[service.name] = (sorted(codes[n] for n in service.needs), loc.address.city,
                             loc.address.region)
    return out


EXPECTED = {
    "Colis alimentaires": (["aide-alimentaire"], "Saint-Gilles", "bruxelles"),
    "Consultations": (["sante"], "Berchem-Sainte-Agathe", "bruxelles"),
    "Médiation de dettes": (["dettes"], "Wavre", "brabant-wallon"),
}


def test_a_cp1252_semicolon_csv_imports_with_needs_and_regions(tmp_path):
    db_path = tmp_path / "o.db"
    args = ["import-sheet", "--db", str(db_path), "--create", str(DATA / "partenaires.csv"),
            "--columns", str(DATA / "colonnes.yaml")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "organization: 3 new" in result.output
    db = store.connect(db_path)
    assert _imported(db) == EXPECTED
    org = next(o for o in store.list_organizations(db) if "Panier" in o.name)
    assert org.name == "Épicerie sociale « Le Panier »"
    # Importing the list again updates the same records.
    again = CliRunner().invoke(cli, args)
    assert "organization: 0 new, 3 updated" in again.output
    assert store.counts(db)["organization"] == 3


def test_an_xlsx_copy_imports_the_same(tmp_path, empty_db):
    book = openpyxl.Workbook()
    sheet = book.active
    for n, row in spreadsheet.read_rows(DATA / "partenaires.csv"):
        if n == 2:
            sheet.append(list(row))
        sheet.append([int(v) if k == "CP" else v for k, v in row.items()])
    book.save(tmp_path / "partenaires.xlsx")
    mapping = spreadsheet.read_mapping(DATA / "colonnes.yaml")
    spreadsheet.load(empty_db, tmp_path / "partenaires.xlsx", mapping)
    assert _imported(empty_db) == EXPECTED


def test_the_dry_run_names_row_column_and_mistake_in_french(tmp_path):
    result = CliRunner().invoke(cli, [
        "import-sheet", "--db", str(tmp_path / "o.db"), "--create", "--dry-run",
        str(DATA / "erreurs.csv"), "--columns", str(DATA / "colonnes.yaml")])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[:4] == [
        "Ligne 2, colonne « CP » : « 10600 » n'est pas un code postal belge (4 chiffres)",
        "Ligne 2, colonne « Courriel » : « panier(at)example.be » n'est pas une adresse e-mail",
        "Ligne 2, colonne « Téléphone » : « 02 538 » : il manque des chiffres au numéro",
        "Ligne 3, colonne « Partenaire » : le nom est vide",
    ]
    assert "rien n'a été écrit" in lines[-1]
    assert not (tmp_path / "o.db").exists() or store.is_empty(store.connect(tmp_path / "o.db"))


def test_a_file_with_errors_is_refused_whole(empty_db):
    mapping = spreadsheet.read_mapping(DATA / "colonnes.yaml")
    with pytest.raises(InvalidData, match="Ligne 3, colonne « Partenaire » : le nom est vide"):
        spreadsheet.load(empty_db, DATA / "erreurs.csv", mapping)
    assert store.is_empty(empty_db)


def test_a_mapping_naming_a_missing_column_is_said(tmp_path):
    mapping = {**spreadsheet.read_mapping(DATA / "colonnes.yaml"), "city": "Localité"}
    result = spreadsheet.preview(DATA / "partenaires.csv", mapping)
    assert str(result.errors[0]) == ("Ligne 1, colonne « Localité » : cette colonne n'existe "
                                     "pas dans le fichier (vérifiez le fichier de "
                                     "correspondance)")
