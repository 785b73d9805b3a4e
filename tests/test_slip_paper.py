"""A slip that stays true on paper: no relative time, short (one A4 page, about 40 cm of roll),
the person of the main step named at the top, a phone step without an address, one print per
visit of the slip screen, and a staff note that never carries a person's name."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from conftest import TEST_TRANSLATIONS

from kiosk import i18n
from kiosk.slips import SLIP_CSS
from orientation import competence, printing, slip, store
from orientation import seed as seeding

SAME_SITE = {"Origin": "http://testserver.local"}
LANGUAGES = ("fr", "nl", "en", "ar")
#: Words that are only true on the day a slip is printed, in the slip's four languages.
RELATIVE = re.compile(r"(?i)\b(maintenant|aujourd'hui|demain|ce soir|tomorrow|today|tonight"
                      r"|vandaag|morgen|vanavond)\b")
MAX_ROLL_CM = 43  # "about 40 cm" (measured: 42.3 cm at most, in Dutch)
#: The languages slips are printed in with translated content: those of seed/translations and of
#: the test translations (tests/data/translations); Dutch labels on French content were the
#: longest before content was translated, so Dutch is always measured.
PRINTED = ("fr", *sorted({"nl"} | {
    folder.name for root in (seeding.DEFAULT_SEED_DIR / "translations", TEST_TRANSLATIONS)
    for folder in root.glob("*") if folder.is_dir()}))


def _pathway(db, need: str):
    return next(p for p in store.list_pathways(db, status="active") if p.need == need)


def _document(client, db, pathway, lang: str, paper: str) -> str:
    """The standalone page that is printed (``slip_print.html``), as ``slip_document`` makes it."""
    composed = slip.for_pathway(db, pathway, lang=lang)
    template = client.app.template_engine.get_template("slip_print.html")
    return template.render(lang=lang, dir=i18n.direction(lang), paper=paper,
                           css=SLIP_CSS.read_text(encoding="utf-8"), slip=composed,
                           qr=slip.qr_svg(f"http://testserver.local/slip?{composed.query}"))


def _text(html: str) -> str:
    article = re.search(r'<article class="slip".*?</article>', html, re.S).group(0)
    article = re.sub(r"<svg.*?</svg>", "", article, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", article).split()).replace("&#39;", "'")


def _pdf(pdf: bytes, tmp_path: Path) -> tuple[str, str]:
    path = tmp_path / "slip.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True,
                          check=True).stdout
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout
    return info, " ".join(text.split())


# --- 1. No relative time on paper ---------------------------------------------------------------


def test_no_seed_slip_says_now_today_or_tomorrow(client, translated_db):
    db = translated_db  # the seed with its translations (and the tests' where it has none)
    pathways = store.list_pathways(db, status="active")
    checked = 0
    for pathway in pathways:
        for lang in LANGUAGES:
            for paper in ("80mm", "a4"):
                text = _text(_document(client, db, pathway, lang, paper))
                assert not RELATIVE.search(text), (pathway.need, lang, paper,
                                                   RELATIVE.findall(text))
                checked += 1
    assert checked == len(pathways) * 8 and len(pathways) >= 30


def test_the_printed_slip_writes_the_next_opening_as_a_full_date(client, db):
    pathway = _pathway(db, "J'ai besoin d'un avocat mais je n'ai pas d'argent")
    text = _text(client.get("/slip", params={"pathway": pathway.id}).text)
    # "Quand : Mercredi 9 décembre, de 9 h à 12 h, sans rendez-vous"
    assert re.search(r"Quand : (Lundi|Mardi|Mercredi|Jeudi|Vendredi|Samedi|Dimanche) \d{1,2} "
                     r"[a-zéû]+, de \d{1,2} h( \d\d)? à \d{1,2} h( \d\d)?, ", text), text


@pytest.mark.parametrize("need", [
    "Je n'ai plus rien à manger",  # "Aujourd'hui, allez manger…" in the directory
    "Je n'ai pas d'endroit où dormir ce soir",
    "Quelqu'un à la maison me frappe ou me fait peur",  # "en danger maintenant ?"
])
def test_printed_pdfs_have_no_relative_time(client, db, tmp_path, need):
    pathway = _pathway(db, need)
    for paper, lang in (("80mm", "fr"), ("a4", "fr"), ("80mm", "nl"), ("a4", "en")):
        response = client.get("/slip.pdf", params={"pathway": pathway.id, "paper": paper,
                                                   "lang": lang})
        assert response.status_code == 200
        _, text = _pdf(response.content, tmp_path)
        assert "Étape" in text or lang != "fr"
        assert not RELATIVE.search(text), (need, paper, lang, RELATIVE.findall(text))


def test_timeless_drops_words_of_the_day_and_keeps_the_sentence():
    assert slip.timeless("Aujourd'hui, allez manger au restaurant social.") == \
        "Allez manger au restaurant social."
    assert slip.timeless("Vous êtes en danger maintenant ? Appelez le 112.") == \
        "Vous êtes en danger ? Appelez le 112."
    assert slip.timeless("Ik heb vanavond geen plek om te slapen") == \
        "Ik heb geen plek om te slapen"
    assert slip.timeless("Demandez le lendemain matin.") == "Demandez le lendemain matin."


# --- 2. Short: about 40 cm of roll, one A4 page -------------------------------------------------


def test_every_seed_slip_fits_40_cm_of_roll_and_one_a4_page(translated_client, translated_db,
                                                             browser, tmp_path):
    """The 80 mm height measured as printing.render measures it (print media, the name fitted
    on one line, the document's height), in French and every language with translated content
    (``PRINTED``); then the five longest printed on A4 and counted with pdfinfo."""
    client, db = translated_client, translated_db
    assert {"nl", "ar"} <= set(PRINTED)
    page = browser.new_page(viewport={"width": round(80 * 96 / 25.4), "height": 600})
    heights = {}
    for pathway in store.list_pathways(db, status="active"):
        for lang in PRINTED:
            page.set_content(_document(client, db, pathway, lang, "80mm"), wait_until="load")
            page.emulate_media(media="print")
            page.evaluate(printing.FIT_ONE_LINE)
            px = page.evaluate(
                "Math.ceil(document.documentElement.getBoundingClientRect().height)")
            heights[(pathway.id, lang)] = px * 25.4 / 96 / 10
    page.close()
    longest = sorted(heights, key=heights.get, reverse=True)
    print("longest 80 mm slip:", round(heights[longest[0]], 1), "cm")
    assert heights[longest[0]] <= MAX_ROLL_CM, [(k, round(heights[k], 1)) for k in longest[:5]]
    for pathway_id, lang in longest[:5]:
        response = client.get("/slip.pdf", params={"pathway": pathway_id, "paper": "a4",
                                                   "lang": lang})
        info, text = _pdf(response.content, tmp_path)
        assert re.search(r"Pages:\s+1\b", info), (pathway_id, lang, info)
        assert "scannez ce code" in text or lang != "fr"


def test_the_slip_says_what_the_qr_code_is_for(client, db):
    pathway = _pathway(db, "J'ai besoin d'un avocat mais je n'ai pas d'argent")
    text = _text(client.get("/slip", params={"pathway": pathway.id}).text)
    assert "Pour tout voir, scannez ce code avec un téléphone." in text
    nl = _text(client.get("/slip", params={"pathway": pathway.id, "lang": "nl"}).text)
    assert "Scan deze code" in nl


# --- 3. The contact person is the one of the main step; a phone step has no address -------------


def test_the_cpas_slip_names_the_cpas_worker_not_the_legal_aid(client, db):
    pathway = _pathway(db, "Je n'ai plus de revenu, je veux demander l'aide du CPAS")
    # The kiosk (commune Ixelles by default) shows the pathway as an Ixelles resident follows it.
    composed = slip.for_pathway(db, competence.localize(db, pathway, "Ixelles"))
    # Step 1 is a phone line, step 3 "Le CPAS refuse ? …": the CPAS (step 2) is met in person.
    assert composed.steps[0].by_phone and composed.main == 2
    assert composed.contact == composed.steps[1].person
    assert "CPAS" in composed.steps[1].organization.name
    assert composed.contact.name != composed.steps[2].person.name
    text = _text(client.get("/slip", params={"pathway": pathway.id}).text)
    box = text.split("Votre personne de contact", 1)[1].split("Étape 1", 1)[0]
    assert composed.steps[1].person.name in box


def test_the_legal_aid_slip_names_the_first_lawyer_not_the_secretary(db):
    pathway = _pathway(db, "J'ai besoin d'un avocat mais je n'ai pas d'argent")
    composed = slip.for_pathway(db, pathway)
    # Step 2 ("L'avocat dit qu'il faut aller au tribunal ? …") only applies if step 1 says so.
    assert composed.main == 1 and composed.contact == composed.steps[0].person
    assert composed.contact.name != composed.steps[1].person.name


def test_a_phone_step_prints_the_phone_and_its_hours_not_an_address(client, db):
    pathway = _pathway(db, "Je n'ai plus de revenu, je veux demander l'aide du CPAS")
    # The kiosk (commune Ixelles by default) shows the pathway as an Ixelles resident follows it.
    composed = slip.for_pathway(db, competence.localize(db, pathway, "Ixelles"))
    phone_step = composed.steps[0]
    assert phone_step.by_phone and phone_step.location is None and phone_step.phones
    html = client.get("/slip", params={"pathway": pathway.id}).text
    section = html.split('<section class="slip-step">')[1].split("</section>")[0]
    text = _text(f'<article class="slip">{section}</article>')
    assert "Appelez :" in text and phone_step.phones[0].number in text
    assert phone_step.hours and phone_step.hours[0] in text
    assert "Où :" not in text and "Quand :" not in text
    assert not phone_step.service.location_ids or all(
        store.get_location(db, lid).address.street not in text
        for lid in phone_step.service.location_ids
        if store.get_location(db, lid).address and store.get_location(db, lid).address.street)


# --- 4. One print per visit of the slip screen ---------------------------------------------------


def test_a_printed_slip_turns_the_print_button_off(browser, live_server, db, tmp_path):
    pathway = _pathway(db, "J'ai besoin d'un avocat mais je n'ai pas d'argent")
    context = browser.new_context(viewport={"width": 1080, "height": 1920}, has_touch=True,
                                  locale="fr-BE", base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto(f"/slip?pathway={pathway.id}")
        button = page.locator("form.print-form button[type=submit]")
        assert button.is_enabled()
        button.click()
        page.get_by_text("Votre papier est imprimé.").wait_for(timeout=30_000)
        folder = tmp_path / "slips"
        assert len(list(folder.glob("*.pdf"))) == 1
        page.wait_for_function(
            "document.querySelector('form.print-form button[type=submit]').disabled")
        assert button.is_disabled()
        button.click(force=True)  # a second tap
        page.evaluate("document.querySelector('form.print-form').requestSubmit()")
        page.wait_for_timeout(2_000)
        assert len(list(folder.glob("*.pdf"))) == 1
        # A new visit of the slip screen can print again.
        page.goto(f"/slip?pathway={pathway.id}")
        assert page.locator("form.print-form button[type=submit]").is_enabled()
    finally:
        context.close()


def test_the_slip_screen_loads_its_script_without_inline_code(client, db):
    pathway = _pathway(db, "J'ai besoin d'un avocat mais je n'ai pas d'argent")
    html = client.get("/slip", params={"pathway": pathway.id}).text
    assert '<script src="/static/slip.js" defer></script>' in html
    assert client.get("/static/slip.js").status_code == 200


# --- 5. The staff note never carries a person's name ---------------------------------------------


@pytest.mark.parametrize("note,gone", [
    ("Demandez Mme Dupont au guichet.", "Dupont"),
    ("Voir M. Peeters mardi.", "Peeters"),
    ("Monsieur Janssens vous attend.", "Janssens"),
    ("Mevrouw De Smet helpt u.", "De Smet"),
    ("Marie Dupont vous accompagne.", "Marie Dupont"),
    ("Allez avec Marie-Claire El Idrissi.", "Marie-Claire"),
    ("Madame Van Damme au BAJ.", "Van Damme"),
])
def test_the_note_loses_personal_names(note, gone):
    screened = slip.screen_note(note)
    assert gone not in screened and "…" in screened


@pytest.mark.parametrize("note", [
    "Allez au CPAS d'Ixelles, Rue Haute 298A.",
    "Venez lundi matin. Le Forem ouvre à 9 h.",
    "Apportez la lettre. Point Numérique de Jette.",
    "Demandez un rendez-vous. Gratuit.",
    "Passez à la Maison Médicale du Nord.",
])
def test_the_note_keeps_places_services_and_sentence_starts(note):
    assert slip.screen_note(note) == note


def test_the_note_keeps_the_directory_own_names():
    # "Aube Claire" reads like a first and a family name; as a known service it stays.
    assert slip.screen_note("Appelez Aube Claire.", ["Aube Claire, écoute"]) == \
        "Appelez Aube Claire."
    assert slip.screen_note("Appelez Aube Claire.") == "Appelez …."
