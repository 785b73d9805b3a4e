"""Importing a partner list from the console (/staff/import): who may, the preview (a dry run
that writes nothing), the confirmation (exactly the previewed file, once, by its author), and
the refusals in plain words."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import openpyxl
import pytest
from test_staff import PASSWORD, become, fresh_db, staff  # noqa: F401  (fixture)

from kiosk.staff import imports
from orientation import store
from orientation.importer import spreadsheet

DATA = Path(__file__).parent / "data" / "spreadsheet"
PARTNERS = (DATA / "partenaires.csv").read_bytes()
ERRORS = (DATA / "erreurs.csv").read_bytes()


def _text(response) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", response.text))


def preview(s, token: str, content: bytes = PARTNERS, name: str = "partenaires.csv",
            columns: bytes | None = None, columns_name: str = "colonnes.yaml"):
    files = {"sheet": (name, content, "text/csv")}
    data = {"csrf": token, "mapping": "default"}
    if columns is not None:
        files["columns"] = (columns_name, columns, "application/yaml")
        data["mapping"] = "upload"
    return s.client.post("/staff/import/preview", data=data, files=files)


def preview_token(response) -> str:
    found = re.search(r'name="token" value="([^"]+)"', response.text)
    assert found, _text(response)
    return found.group(1)


def counts(s) -> dict[str, int]:
    db = fresh_db(s)
    try:
        return store.counts(db)
    finally:
        db.close()


def test_staff_members_cannot_import_and_anonymous_people_log_in_first(staff):
    become(staff, "anonymous")
    response = staff.client.get("/staff/import", follow_redirects=False)
    assert response.status_code == 303 and "/staff/login" in response.headers["location"]
    token = become(staff, "staff")
    assert staff.client.get("/staff/import").status_code == 403
    assert preview(staff, token).status_code == 403
    assert staff.client.post("/staff/import/confirm",
                             data={"csrf": token, "token": "x" * 32}).status_code == 403


def test_the_form_lists_the_shipped_column_headings(staff):
    become(staff, "admin")
    page = staff.client.get("/staff/import")
    assert page.status_code == 200
    text = _text(page)
    for heading in spreadsheet.read_mapping(imports.DEFAULT_COLUMNS).values():
        assert heading in text
    assert 'enctype="multipart/form-data"' in page.text


def test_admin_previews_writes_nothing_then_confirms_exactly_that_file(staff):
    token = become(staff, "admin")
    before = counts(staff)
    response = preview(staff, token)
    assert response.status_code == 200
    text = _text(response)
    assert "3 lignes prêtes" in text and "Rien n'a encore été enregistré" in text
    assert "Épicerie sociale « Le Panier »" in text  # read as Windows-1252
    assert text.count("ajout") == 3
    assert counts(staff) == before
    kept = preview_token(response)
    assert list((imports.SPOOL / kept).glob("sheet.csv"))
    # Without the session's CSRF token, the confirmation is refused and nothing is written.
    assert staff.client.post("/staff/import/confirm", data={"token": kept}).status_code == 403
    assert counts(staff) == before
    done = staff.client.post("/staff/import/confirm", data={"csrf": token, "token": kept})
    assert done.status_code == 200, _text(done)
    after = counts(staff)
    assert after["organization"] == before["organization"] + 3
    assert after["service"] == before["service"] + 3
    links = re.findall(r'href="/staff/service/([^"]+)"', done.text)
    assert len(links) == 3
    db = fresh_db(staff)
    names = {store.get_service(db, x).name for x in links}
    db.close()
    assert names == {"Colis alimentaires", "Consultations", "Médiation de dettes"}
    assert staff.client.get(f"/staff/service/{links[0]}").status_code == 200
    # The file is gone with its token: the same confirmation cannot import twice.
    assert not (imports.SPOOL / kept).exists()
    assert not (imports.SPOOL / f"{kept}.claimed").exists()
    again = staff.client.post("/staff/import/confirm", data={"csrf": token, "token": kept})
    assert again.status_code == 409 and "Cet aperçu n'existe plus" in _text(again)
    # Previewing the same list again now says "update" on every row.
    assert _text(preview(staff, token)).count("mise à jour") == 3


def test_an_xlsx_list_and_an_uploaded_mapping(staff, tmp_path):
    token = become(staff, "admin")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Nom", "Ville", "CP"])
    sheet.append(["Atelier vélo solidaire (exemple)", "Namur", 5000])
    book.save(tmp_path / "liste.xlsx")
    columns = b"name: Nom\ncity: Ville\npostal_code: CP\n"
    response = preview(staff, token, (tmp_path / "liste.xlsx").read_bytes(), "liste.xlsx",
                       columns=columns)
    assert response.status_code == 200 and "1 ligne prête" in _text(response)
    done = staff.client.post("/staff/import/confirm",
                             data={"csrf": token, "token": preview_token(response)})
    assert done.status_code == 200
    assert "Atelier vélo solidaire (exemple)" in _text(done)


def test_row_errors_say_row_column_what_and_how_and_offer_no_confirmation(staff):
    token = become(staff, "admin")
    before = counts(staff)
    response = preview(staff, token, ERRORS, "erreurs.csv")
    assert response.status_code == 200
    text = _text(response)
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>",
                      html.unescape(response.text))
    assert ("2", "CP", "« 10600 » n'est pas un code postal belge.",
            "Écrivez 4 chiffres, par exemple 1060.") in rows
    assert any(r[:2] == ("2", "Courriel") and "panier(at)example.be" in r[2] for r in rows)
    assert any(r[:2] == ("3", "Partenaire") and r[2] == "Le nom est vide." for r in rows)
    assert "Rien ne sera importé tant qu'il reste une erreur" in text
    assert 'name="token"' not in response.text
    assert counts(staff) == before


def test_the_page_speaks_the_console_language(staff):
    token = become(staff, "admin")
    response = staff.client.post("/staff/import/preview?lang=nl",
                                 data={"csrf": token, "mapping": "default"},
                                 files={"sheet": ("erreurs.csv", ERRORS, "text/csv")})
    text = _text(response)
    assert "« 10600 » is geen Belgische postcode." in text
    assert "Schrijf 4 cijfers, bijvoorbeeld 1060." in text


@pytest.mark.parametrize(("name", "content", "words"), [
    ("photo.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 20, "n'est pas un tableau CSV ou XLSX"),
    ("liste.xlsx", b"N;Partenaire\n1;x\n", "n'en est pas un"),
    ("liste.csv", b"PK\x03\x04" + b"\0" * 40, "n'en est pas un"),
    ("vide.csv", b"  \r\n", "Ce fichier est vide"),
    # Over the page's limit but under the server's own (a larger body never reaches the page).
    ("grand.csv", b"Partenaire\n" + b"x" * (245 * 1024), "trop grand"),
])
def test_other_files_are_refused_in_plain_words(staff, name, content, words):
    token = become(staff, "admin")
    before = counts(staff)
    response = preview(staff, token, content, name)
    assert response.status_code == 422
    assert words in _text(response)
    assert counts(staff) == before


def test_a_bad_mapping_file_is_refused_in_words(staff):
    token = become(staff, "admin")
    kept_before = set(imports.SPOOL.iterdir()) if imports.SPOOL.exists() else set()
    response = preview(staff, token, columns=b"nom: Partenaire\n")
    assert response.status_code == 422
    assert "fichier de correspondance des colonnes n'est pas valable" in _text(response)
    assert set(imports.SPOOL.iterdir()) <= kept_before  # the refused upload is not kept


def test_an_editor_imports_only_rows_of_their_own_organisation(staff):
    db = fresh_db(staff)
    own = store.get_organization(db, staff.org)
    other = store.get_organization(db, staff.other_org)
    db.close()
    sheet = ("Partenaire;Service;Commune;CP\r\n"
             f"{own.name};Permanence du jeudi (exemple);Ixelles;1050\r\n"
             f"{other.name};Autre chose;Namur;5000\r\n"
             "Nouvelle asbl (exemple);Atelier;Namur;5000\r\n").encode("cp1252")
    columns = b"name: Partenaire\nservice: Service\ncity: Commune\npostal_code: CP\n"
    token = become(staff, "editor")
    response = preview(staff, token, sheet, "mes-services.csv", columns=columns)
    text = _text(response)
    assert f"Cette ligne concerne « {other.name} », une autre organisation que la vôtre." \
        in text
    assert "« Nouvelle asbl (exemple) » n'est pas encore dans l'annuaire" in text
    assert 'name="token"' not in response.text  # refused rows: nothing to confirm
    # The same list with only the editor's own row: it updates their organisation.
    sheet = sheet.split(b"\r\n")
    response = preview(staff, token, b"\r\n".join(sheet[:2]) + b"\r\n", "mes-services.csv",
                       columns=columns)
    assert "1 ligne prête" in _text(response) and "mise à jour" in _text(response)
    before = counts(staff)
    done = staff.client.post("/staff/import/confirm",
                             data={"csrf": token, "token": preview_token(response)})
    assert done.status_code == 200, _text(done)
    after = counts(staff)
    assert after["organization"] == before["organization"]
    assert after["service"] == before["service"] + 1
    service_id = re.search(r'href="/staff/service/([^"]+)"', done.text).group(1)
    db = fresh_db(staff)
    assert store.get_service(db, service_id).organization_id == own.id
    db.close()


def test_only_the_author_of_a_preview_can_confirm_it(staff):
    token = become(staff, "admin")
    kept = preview_token(preview(staff, token))
    other = become(staff, "editor")
    before = counts(staff)
    response = staff.client.post("/staff/import/confirm", data={"csrf": other, "token": kept})
    assert response.status_code == 409
    assert "une autre personne" in _text(response)
    assert counts(staff) == before


def test_an_expired_preview_is_removed_and_cannot_be_confirmed(staff, monkeypatch):
    token = become(staff, "admin")
    kept = preview_token(preview(staff, token))
    monkeypatch.setattr(imports, "KEEP", dt.timedelta(seconds=-1))  # every preview expired
    response = staff.client.post("/staff/import/confirm", data={"csrf": token, "token": kept})
    assert response.status_code == 409 and "n'existe plus" in _text(response)
    assert not (imports.SPOOL / kept).exists()
