"""Content in the person's language: translations of every text a person reads, loaded from
``seed/translations/<lang>/<pathway>.yaml``, checked on write, shown on the pathway page and on
the slip (screen, 80 mm and A4) with a visible French fallback, Arabic right-to-left with
numbers left-to-right, and listed "à traduire" when missing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import msgspec
import pytest
import yaml

from orientation import seed as seeding
from orientation import slip, store, translations, verification
from orientation.errors import InvalidData
from orientation.models import PathwayTranslation, StepTranslation

from conftest import TEST_TRANSLATIONS, translated_seed
from test_staff import staff  # noqa: F401  (the staff fixture: accounts and a real app)

NEED = "J'ai besoin d'un avocat mais je n'ai pas d'argent"
SLUG = "aide-juridique-brabant-wallon"
SAME_SITE = {"Origin": "http://testserver.local"}


def _pathway(db, need: str = NEED):
    return next(p for p in store.list_pathways(db) if p.need == need)


def _fixture(lang: str) -> dict:
    return yaml.safe_load((TEST_TRANSLATIONS / lang / f"{SLUG}.yaml").read_text("utf-8"))


def _translation(lang: str) -> dict:
    """The file the translated seed loads for the pathway: the seed's own, else the tests'."""
    path = seeding.DEFAULT_SEED_DIR / "translations" / lang / f"{SLUG}.yaml"
    if not path.exists():
        path = TEST_TRANSLATIONS / lang / f"{SLUG}.yaml"
    return yaml.safe_load(path.read_text("utf-8"))


def _untranslated(db, pathway, lang: str, *, keep_need: bool = False):
    """The pathway saved without its ``lang`` translation (or with only its need and summary)."""
    kept = {k: v for k, v in pathway.translations.items() if k != lang}
    if keep_need and lang in pathway.translations:
        kept[lang] = msgspec.structs.replace(pathway.translations[lang], steps=[])
    return store.save_pathway(db, msgspec.structs.replace(pathway, translations=kept),
                              actor="test")


def _article(html: str) -> str:
    return re.search(r'<article class="slip".*?</article>', html, re.S).group(0)


# --- Loading ------------------------------------------------------------------------------------


def test_a_translation_file_gives_every_step_its_texts(translated_db):
    pathway = _pathway(translated_db)
    ar = _translation("ar")
    translated = pathway.translations["ar"]
    assert translated.need == ar["need"] and translated.summary == ar["summary"]
    assert [s.action for s in translated.steps] == [s["action"] for s in ar["steps"]]
    assert [s.bring for s in translated.steps] == [s["bring"] for s in ar["steps"]]
    # The file wins over the inline block, field by field.
    assert pathway.translations["nl"].need == _translation("nl")["need"]


def test_the_loader_works_without_inline_translations(tmp_path):
    seed_dir = translated_seed(tmp_path / "seed")
    path = seed_dir / "pathways" / f"{SLUG}.yaml"
    data = yaml.safe_load(path.read_text("utf-8"))
    data.pop("translations", None)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    db = store.connect(tmp_path / "t.db")
    seeding.load(db, seed_dir)
    pathway = _pathway(db)
    files = {lang for lang in translations.TARGETS
             if (seed_dir / "translations" / lang / f"{SLUG}.yaml").exists()}
    assert set(pathway.translations) == files and {"nl", "ar"} <= files
    for lang in files:
        assert pathway.translations[lang].need == _translation(lang)["need"]
        assert pathway.translations[lang].steps[0].action == \
            _translation(lang)["steps"][0]["action"]


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(id="pas-de-parcours"), "no pathway 'pas-de-parcours'"),
    (lambda d: d["steps"].pop(), "1 steps, the French pathway has 2"),
    (lambda d: d["steps"][0]["bring"].append("Un papier"), "bring has 3 items, the French step 2"),
    (lambda d: d.update(titre="x"), "unknown field(s) titre"),
    (lambda d: d["steps"][1].update(action="A\x07B"), "control character"),
])
def test_a_bad_translation_file_is_a_clear_seed_error(tmp_path, change, message):
    seed_dir = translated_seed(tmp_path / "seed")
    data = _fixture("ar")
    change(data)
    name = f"{data['id']}.yaml"
    (seed_dir / "translations" / "ar" / f"{SLUG}.yaml").unlink()
    (seed_dir / "translations" / "ar" / name).write_text(
        yaml.safe_dump(data, allow_unicode=True), "utf-8")
    db = store.connect(tmp_path / "t.db")
    with pytest.raises(seeding.SeedError, match=re.escape(message)):
        seeding.load(db, seed_dir)
    assert db["pathways"].count == 0  # one transaction: nothing half-loaded


def test_a_translation_of_an_unknown_language_is_refused(tmp_path):
    seed_dir = translated_seed(tmp_path / "seed")
    shutil.copytree(seed_dir / "translations" / "ar", seed_dir / "translations" / "xx")
    with pytest.raises(seeding.SeedError, match="translations/xx: not a translation language"):
        seeding.load(store.connect(tmp_path / "t.db"), seed_dir)


# --- Checked on every write ---------------------------------------------------------------------


def test_a_translation_must_follow_the_steps(db):
    pathway = _pathway(db)
    wrong = msgspec.structs.replace(pathway, translations={
        "ar": PathwayTranslation(need="مثال", steps=[StepTranslation(action="اذهب")])})
    with pytest.raises(InvalidData, match=r"translations.ar.steps: 1 translated steps for 2"):
        store.save_pathway(db, wrong, actor="test")
    too_long = msgspec.structs.replace(pathway, translations={
        "nl": PathwayTranslation(need="x" * 301)})
    with pytest.raises(InvalidData, match=r"translations.nl.need: 301 characters"):
        store.save_pathway(db, too_long, actor="test")
    bidi = msgspec.structs.replace(pathway, translations={"ar": PathwayTranslation(
        steps=[StepTranslation(fallback="اتصل \u202e0800"), StepTranslation()])})
    with pytest.raises(InvalidData, match=r"U\+202E"):
        store.save_pathway(db, bidi, actor="test")
    assert store.get_pathway(db, pathway.id).translations == pathway.translations


def test_the_api_exposes_the_step_translations(translated_client, translated_db):
    pathway = _pathway(translated_db)
    body = translated_client.get(f"/api/v1/pathways/{pathway.id}").json()
    assert body["translations"]["ar"]["steps"][1]["bring"][2] == "بطاقة الهوية"


def test_the_api_refuses_a_translation_with_another_step_count(api_client, api_keys, db):
    pathway = _pathway(db)
    response = api_client.patch(
        f"/api/v1/pathways/{pathway.id}", headers=api_keys.headers["admin"],
        json={"translations": {"ar": {"need": "مثال", "steps": [{"action": "اذهب"}]}}})
    assert response.status_code == 422
    body = response.json()
    assert "translations.ar.steps: 1 translated steps for 2 steps" in body["detail"]
    assert store.get_pathway(db, pathway.id).translations == pathway.translations


# --- On screen and on paper, in the person's language --------------------------------------------


def test_the_arabic_slip_is_arabic_right_to_left_with_numbers_left_to_right(
        translated_client, translated_db):
    pathway = _pathway(translated_db)
    composed = slip.for_pathway(translated_db, pathway, lang="ar")
    assert composed.title_lang == "ar" and not composed.in_french
    assert all(s.action_lang == "ar" for s in composed.steps)
    html = translated_client.get("/slip", params={"pathway": pathway.id, "lang": "ar"}).text
    assert '<html lang="ar" dir="rtl"' in html
    article = _article(html)
    assert "بعض المعلومات بالفرنسية" not in article  # no "some of it is in French" notice
    assert _translation("ar")["need"] in article
    actions = re.findall(r'<p class="slip-action"([^>]*)>', article)
    assert actions and all(attrs == "" for attrs in actions)  # Arabic, like the page
    # Every phone number and hour is isolated left-to-right.
    for phone in re.findall(r"\+32[\d ]+\d", article):
        assert f'<bdi dir="ltr" class="phone" translate="no">{phone}</bdi>' in article
    assert re.search(r'<bdi dir="ltr">\d{1,2}:\d\d</bdi>', article)


def test_an_untranslated_text_shows_in_french_and_says_so(translated_client, translated_db):
    pathway = _untranslated(translated_db, _pathway(translated_db), "en", keep_need=True)
    # English: only the need and summary, no step translated.
    html = translated_client.get("/slip", params={"pathway": pathway.id, "lang": "en"}).text
    article = _article(html)
    assert "Some information is in French." in article
    assert re.findall(r'<p class="slip-action"([^>]*)>', article)[0] == ' lang="fr" dir="ltr"'
    # The pathway page marks the French step the same way.
    page = translated_client.get(f"/pathway/{pathway.id}", params={"lang": "ar"}).text
    assert _translation("ar")["steps"][0]["action"].split(".")[0] in page
    other = _untranslated(translated_db, next(
        p for p in store.list_pathways(translated_db, status="active") if p.id != pathway.id),
        "ar")
    page = translated_client.get(f"/pathway/{other.id}", params={"lang": "ar"}).text
    assert re.search(r'<h1 lang="fr" dir="ltr">', page)
    assert re.search(r'<p class="strong" lang="fr" dir="ltr">', page)


def _pdf_text(pdf: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.parametrize("paper", ["80mm", "a4"])
def test_the_printed_dutch_and_arabic_slips_read_in_their_language(
        translated_client, translated_db, tmp_path, paper):
    pathway = _pathway(translated_db)
    nl, ar = _translation("nl"), _translation("ar")
    # Arabic words without a lam ligature (lam-alef, lam-alef maksura), which pdftotext does
    # not give back in typed order, and without diacritics (moved, too); punctuation apart.
    arabic = [w for w in re.findall(r"[\u0621-\u065f]+", ar["need"])
              if not re.search("ل[اأإآى]|[\u064b-\u065f]", w)][:3]
    assert arabic
    for lang, words in (("nl", [nl["need"], nl["steps"][0]["bring"][0], "Breng mee",
                                "Uw contactpersoon", "Madame Hélène Van"]),
                        ("ar", [*arabic, "الشخص الذي تتصل به"])):
        response = translated_client.get("/slip.pdf", params={
            "pathway": pathway.id, "paper": paper, "lang": lang})
        assert response.status_code == 200
        text = _pdf_text(response.content, tmp_path, f"{lang}-{paper}")
        # pdftotext marks its embedding levels (U+202A–U+202C): the words are between them.
        flat = " ".join(re.sub("[\u202a-\u202e]", " ", text).split())
        for word in words:
            assert word in flat, (lang, word, flat[:400])
        assert "Allez au palais" not in flat and "Carte d'identité" not in flat
        # The phone number keeps its digits in order, whatever the direction of the page.
        phone = slip.for_pathway(translated_db, pathway, lang=lang).contact.phones[0].number
        assert phone in flat, (lang, phone)


# --- To translate -------------------------------------------------------------------------------


def test_the_verification_queue_lists_what_is_left_to_translate(translated_db):
    done = _untranslated(translated_db, _pathway(translated_db), "en", keep_need=True)
    other = _untranslated(translated_db, next(
        p for p in store.list_pathways(translated_db, status="active") if p.id != done.id),
        "ar")
    todo = verification.to_translate(translated_db)
    assert not any(item.id == done.id and item.lang in ("nl", "ar") for item in todo)
    [steps_only] = [i for i in todo if i.id == done.id and i.lang == "en"]
    assert "need" not in steps_only.fields and "step 1 action" in steps_only.fields
    [item] = [i for i in todo if i.id == other.id and i.lang == "ar"]
    assert item.missing == len(translations.pathway_fields(other, "ar"))


# --- The staff editor: translations beside the French -------------------------------------------


def test_an_editor_translates_a_pathway_beside_the_french(staff):
    from test_staff import _form, become

    become(staff, "admin")
    db = store.connect(staff.db_path)
    pathway = _pathway(db)
    url = f"/staff/edit/pathway/{pathway.id}"
    page = staff.client.get(url).text
    # Each language has its part, each text its French beside the field.
    assert 'id="translation-ar"' in page and 'id="translation-nl"' in page
    assert re.search(r'id="tr-ar-steps-0-action-fr" lang="fr">', page)
    assert re.search(r'<textarea id="tr-ar-steps-0-action" name="tr-ar-steps-0-action" '
                     r'rows="3" lang="ar" dir="rtl"', page)
    data = _form(page)
    ar = _fixture("ar")
    data.update({"tr-ar-need": [ar["need"]], "tr-ar-steps-0-action": [ar["steps"][0]["action"]],
                 "tr-ar-steps-1-bring": ["\n".join(ar["steps"][1]["bring"])],
                 # The steps swap places: each translation follows its step.
                 "steps-0-position": ["2"], "steps-1-position": ["1"]})
    response = staff.client.post(url, data=data, follow_redirects=False)
    assert response.status_code == 303, response.text[:2000]
    saved = store.get_pathway(store.connect(staff.db_path), pathway.id)
    assert saved.steps[1].action == pathway.steps[0].action
    assert saved.translations["ar"].need == ar["need"]
    assert saved.translations["ar"].steps[1].action == ar["steps"][0]["action"]
    assert saved.translations["ar"].steps[0].bring == ar["steps"][1]["bring"]
    assert saved.translations["nl"].need == pathway.translations["nl"].need  # kept
    # A list with another count than the French is refused next to the translations.
    data = _form(staff.client.get(url).text)
    data["tr-ar-steps-0-bring"] = ["une seule ligne"]
    response = staff.client.post(url, data=data)
    assert response.status_code == 422
    # The editor shows the refusal next to the translations, in the console's words.
    message = re.search(r'id="err-translations"[^>]*>([^<]+)', response.text)
    assert message and message.group(1).strip(), response.text[-3000:]


def test_an_editor_translates_a_service_name_and_description(staff):
    from test_staff import _form, become

    become(staff, "editor")
    url = f"/staff/edit/service/{staff.service.id}"
    data = _form(staff.client.get(url).text)
    data.update({"tr-ar-name": ["خدمة"], "tr-ar-description": ["وصف بسيط."]})
    response = staff.client.post(url, data=data, follow_redirects=False)
    assert response.status_code == 303
    saved = store.get_service(store.connect(staff.db_path), staff.service.id)
    assert saved.translations["ar"].name == "خدمة"
    assert saved.texts("description", "ar") == ("وصف بسيط.", "ar")
    page = staff.client.get(f"/service/{staff.service.id}", params={"lang": "ar"}).text
    assert '<h1>خدمة</h1>' in page


def test_the_verification_page_lists_pathways_to_translate(staff):
    from test_staff import become

    become(staff, "admin")
    db = store.connect(staff.db_path)
    _untranslated(db, _pathway(db), "ar")
    page = staff.client.get("/staff/verify").text
    assert 'id="to-translate"' in page and "À traduire" in page
    assert re.search(r'<li data-lang="ar">À traduire · <span lang="ar">العربية</span>', page)


def test_numbers_stay_left_to_right_in_arabic_text_only():
    from kiosk import i18n

    assert str(i18n.ltr_numbers("ar", "الأربعاء، من 9:00 إلى 12:00 <b>")) == (
        'الأربعاء، من <bdi dir="ltr">9:00</bdi> إلى <bdi dir="ltr">12:00</bdi> &lt;b&gt;')
    assert str(i18n.ltr_numbers("ar", "اتصل بالرقم +32 2 519 84 41.")) == \
        'اتصل بالرقم <bdi dir="ltr">+32 2 519 84 41</bdi>.'
    assert str(i18n.ltr_numbers("nl", "Van 9:00 tot 12:00 & later")) == \
        "Van 9:00 tot 12:00 &amp; later"


def test_a_need_shows_its_arabic_label_when_the_taxonomy_has_one(client, db):
    term = store.get_term_by_code(db, "energie")
    store.save_term(db, msgspec.structs.replace(term, labels={**term.labels, "ar": "طاقة وماء"}),
                    actor="test")
    home = client.get("/", params={"lang": "ar"}).text
    assert "طاقة وماء" in home
