"""The staff console and the desk in French, Dutch, English and Arabic: the language follows
?lang=, then the account's own choice, then the browser; no French interface text is left on a
Dutch or Arabic page (names, addresses and directory content stay as written), an Arabic page
is right to left with its numbers kept left to right, codes have labels, a refused translation
says where and what, and the Dutch console passes axe-core."""

from __future__ import annotations

import html
import re

import pytest
from babel.messages.pofile import read_po

from kiosk import i18n
from orientation import accounts, store
from test_staff import PASSWORD, become, login, staff  # noqa: F401  (fixture)
from test_staff_browser import check_axe, page, site  # noqa: F401  (fixtures)


def _texts(page_html: str) -> list[str]:
    """Every text node and every label-like attribute a person may read or hear."""
    body = re.sub(r"<(script|style|template)\b.*?</\1>", " ", page_html, flags=re.S)
    said = re.findall(r'(?:aria-label|placeholder|title|alt)="([^"]*)"', body)
    nodes = re.split(r"<[^>]+>", body)
    return [" ".join(html.unescape(t).split()) for t in nodes + said if t.strip()]


def _french_ui(lang: str = "nl") -> set[str]:
    """The console's own French sentences and words (the catalogue's "staff" entries) that
    ``lang`` says differently."""
    po = read_po((i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb"))
    found = set()
    for m in po:
        if not m.id or "staff" not in m.auto_comments:
            continue
        ids = m.id if isinstance(m.id, tuple) else (m.id,)
        strings = m.string if isinstance(m.string, tuple) else (m.string,)
        for french in ids:
            if "%(" not in french and french not in strings:
                found.add(french)
    return found


def _pages(s) -> dict[str, str]:
    return {
        "home": "/staff", "search": "/staff/search?q=logement&audience=chomeurs",
        "service": f"/staff/service/{s.service.id}", "pathway": f"/staff/pathway/{s.pathway.id}",
        "compare": f"/staff/compare?service={s.service.id}&service={s.other_service.id}",
        "call": "/staff/call", "call-need": "/staff/call/need/logement",
        "slip": f"/staff/slip?pathway={s.pathway.id}", "followup": "/staff/followup?code=KQ4-MXT",
        "verify": "/staff/verify", "problems": "/staff/problems", "reports": "/staff/reports",
        "edit": "/staff/edit", "edit-service": f"/staff/edit/service/{s.service.id}",
        "edit-pathway": f"/staff/edit/pathway/{s.pathway.id}",
        "history": f"/staff/history/service/{s.service.id}", "desk": "/desk",
        "not-found": "/staff/service/00000000-0000-4000-8000-000000000000",
    }


def test_dutch_console_pages_have_no_french_interface_text(staff):
    become(staff, "admin")
    french = _french_ui()
    assert len(french) > 200  # the check has something to find
    for name, url in _pages(staff).items():
        response = staff.client.get(url + ("&" if "?" in url else "?") + "lang=nl")
        assert response.status_code in (200, 404), name
        assert '<html lang="nl"' in response.text, name
        left = sorted(t for t in _texts(response.text) if t in french)
        assert not left, (name, left)
        # Codes are never shown raw.
        for code in ("chomeurs", "sans papiers", "sans-papiers", "eid-reader"):
            assert code not in _texts(response.text), (name, code)


def test_arabic_console_pages_are_right_to_left_and_arabic(staff):
    become(staff, "admin")
    french = _french_ui("ar")
    assert len(french) > 400
    for name, url in _pages(staff).items():
        response = staff.client.get(url + ("&" if "?" in url else "?") + "lang=ar")
        assert response.status_code in (200, 404), name
        assert '<html lang="ar" dir="rtl"' in response.text, name
        left = sorted(t for t in _texts(response.text) if t in french)
        assert not left, (name, left)
        for code in ("chomeurs", "sans papiers", "sans-papiers", "eid-reader"):
            assert code not in _texts(response.text), (name, code)
        # Numbers are kept left to right: no phone number is shown outside an isolate.
        bare = re.sub(r"<bdi dir=\"ltr\"[^>]*>.*?</bdi>", " ", response.text, flags=re.S)
        assert not re.search(r">[^<]*\+32 \d[\d ]+", bare), name
    service = staff.client.get(f"/staff/service/{staff.service.id}", params={"lang": "ar"}).text
    assert re.search(r'<bdi dir="ltr">\d{1,2}:\d\d</bdi>', service)  # opening hours
    assert 'href="tel:' in service
    slip = staff.client.get("/staff/followup", params={"code": "KQ4-MXT", "lang": "ar"}).text
    assert "الورقة KQ4-MXT" in slip


def test_arabic_is_an_account_language(staff):
    client = staff.client
    client.cookies.clear()
    assert "اسم المستخدم" in client.get("/staff/login", params={"lang": "ar"}).text
    assert '<html lang="ar" dir="rtl"' in client.get(
        "/staff/login", headers={"Accept-Language": "ar-MA,ar;q=0.9,fr;q=0.5"}).text
    assert login(client, "sam", lang="ar").status_code == 303
    home = client.get("/staff", headers={"Accept-Language": "fr"}).text
    assert '<html lang="ar" dir="rtl"' in home and "بمن نتصل الآن؟" in home
    assert '<option value="ar" lang="ar" selected>العربية</option>' in home
    assert accounts.get_user(store.connect(staff.db_path), "sam").language == "ar"
    token = re.search(r'name="csrf" value="([^"]+)"', home).group(1)
    client.post("/staff/language", data={"language": "nl", "csrf": token, "next": "/staff"})
    assert '<html lang="nl" dir="ltr"' in client.get("/staff").text


def test_facets_and_digital_needs_show_labels_in_every_language(staff):
    become(staff, "staff")
    for lang, words in (("fr", ("Personnes au chômage", "Personnes sans papiers")),
                        ("nl", ("Werklozen", "Mensen zonder papieren")),
                        ("en", ("Unemployed people", "Undocumented people")),
                        ("ar", ("العاطلون عن العمل", "الأشخاص بلا أوراق"))):
        text = _texts(staff.client.get("/staff/search", params={"q": "aide", "lang": lang}).text)
        assert all(w in text for w in words), (lang, words)


def test_login_page_follows_lang_then_accept_language(staff):
    client = staff.client
    client.cookies.clear()
    assert "Gebruikersnaam" in client.get("/staff/login", params={"lang": "nl"}).text
    assert "Username" in client.get("/staff/login",
                                    headers={"Accept-Language": "en-GB,en;q=0.9"}).text
    dutch = client.get("/staff/login", headers={"Accept-Language": "de, nl-BE;q=0.8"}).text
    assert '<html lang="nl"' in dutch
    assert "Nom d&#39;utilisateur" in client.get("/staff/login").text  # French by default
    # A failed login answers in the language the form was read in.
    page = client.get("/staff/login", params={"lang": "en"})
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    refused = client.post("/staff/login", data={"username": "sam", "password": "nope nope",
                                                "csrf": token, "lang": "en"})
    assert "Wrong username or password." in refused.text


def test_account_remembers_its_language(staff):
    client = staff.client
    client.cookies.clear()
    assert login(client, "sam", lang="nl").status_code == 303
    assert '<html lang="nl"' in client.get("/staff").text
    # Another browser, French-speaking: still Dutch, the account's choice.
    assert "Wie nu bellen?" in client.get("/staff", headers={"Accept-Language": "fr"}).text
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/staff").text).group(1)
    changed = client.post("/staff/language", data={"language": "en", "csrf": token,
                                                   "next": "/staff/call"},
                          follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/staff/call"
    assert "Who to call now?" in client.get("/staff/call").text
    db = store.connect(staff.db_path)
    assert accounts.get_user(db, "sam").language == "en"
    # A language the console does not offer is refused, in the reader's words.
    refused = client.post("/staff/language", data={"language": "xx", "csrf": token})
    assert refused.status_code == 422
    assert "This value is refused" in html.unescape(refused.text)


def test_editor_refusals_are_translated(staff):
    token = become(staff, "editor")
    from test_staff import _form
    url = f"/staff/edit/service/{staff.service.id}"
    data = _form(staff.client.get(url).text)
    broken = {**data, "schedules-0-opens_at": ["25:99"], "schedules-0-days": ["MO"],
              "schedules-0-closes_at": ["12:00"], "csrf": [token]}
    for lang, expected in (("nl", "Het uur „25:99” is ongeldig"),
                           ("en", "The time “25:99” is not valid"),
                           ("fr", "L'heure « 25:99 » n'est pas valide")):
        check = staff.client.post(url + "/check", params={"lang": lang}, data=broken,
                                  headers={"HX-Request": "true"})
        assert expected in html.unescape(check.text), lang
        assert "is not HH:MM" not in check.text


@pytest.mark.browser
def test_dutch_console_passes_axe(page, site):  # noqa: F811
    page.goto(site.url + "/staff/login?lang=nl")
    check_axe(page, "nl-login")
    page.get_by_label("Gebruikersnaam").fill("ada")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(site.url + "/staff")
    service = site.services[0]
    for name, path in {"home": "/staff", "search": "/staff/search?q=logement",
                       "search-facets": "/staff/search?q=aide&audience=chomeurs",
                       "service": f"/staff/service/{service.id}",
                       "pathway": f"/staff/pathway/{site.pathway.id}",
                       "queue": "/staff/queue", "verify": "/staff/verify",
                       "edit-service": f"/staff/edit/service/{service.id}",
                       "edit-pathway": f"/staff/edit/pathway/{site.pathway.id}",
                       "problems": "/staff/problems", "reports": "/staff/reports",
                       "desk": "/desk"}.items():
        page.goto(site.url + path)
        assert page.locator("html").get_attribute("lang") == "nl", name
        check_axe(page, f"nl-{name}")


@pytest.mark.browser
def test_arabic_console_is_mirrored_in_chromium(page, site, screenshots):  # noqa: F811
    """The Arabic console, looked at: the header starts on the right, the filters stand to the
    right of the results, a phone number still reads left to right; axe passes too."""
    page.goto(site.url + "/staff/login?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.get_by_label("اسم المستخدم").fill("ada")
    page.get_by_label("كلمة المرور").fill(PASSWORD)
    page.get_by_role("button", name="سجّل الدخول").click()
    page.wait_for_url(site.url + "/staff")
    width = page.viewport_size["width"]
    brand = page.locator(".brand").bounding_box()
    assert brand["x"] > width / 2  # the first thing of the header, on the right
    page.goto(site.url + "/staff/search?q=logement")
    filters = page.locator("form.filters").bounding_box()
    results = page.locator("section.results").bounding_box()
    assert filters["x"] > results["x"]
    check_axe(page, "ar-search")
    page.screenshot(path=str(screenshots / "staff-ar-search.png"))
    page.goto(site.url + f"/staff/service/{site.services[0].id}")
    phone = page.locator("a.phone bdi").first
    assert phone.evaluate("e => getComputedStyle(e).direction") == "ltr"
    assert page.locator("html").get_attribute("dir") == "rtl"
    check_axe(page, "ar-service")
    page.screenshot(path=str(screenshots / "staff-ar-service.png"), full_page=True)
    page.goto(site.url + "/staff/edit/pathway/" + site.pathway.id)
    check_axe(page, "ar-edit-pathway")
    page.screenshot(path=str(screenshots / "staff-ar-edit-pathway.png"))


def _codes() -> dict[str, set[str]]:
    """Every code the console may show a person, from where the core defines it."""
    import typing

    from orientation import models, reports, unmet
    from orientation.search import AUDIENCES

    def literal(hint) -> set[str]:
        return set(typing.get_args(hint))

    what = typing.get_type_hints(models.DigitalRequirement)["what"]
    return {
        "audience": set(AUDIENCES), "digital": literal(typing.get_args(what)[0]),
        "digital_level": literal(models.DigitalLevel), "attending": literal(models.Attending),
        "region": literal(models.Region), "role": literal(models.Role),
        "referral_role": literal(models.ReferralRole), "problem": set(reports.PROBLEMS),
        "channel": set(reports.CHANNELS) | set(unmet.CHANNELS),
        "outcome": set(reports.OUTCOMES), "sent_elsewhere": set(reports.SENT_ELSEWHERE),
        "status": set(reports.REPORT_STATUSES) | literal(models.Status),
    }


def test_every_code_shown_to_a_person_has_a_label_in_every_language():
    from kiosk.labels import LABELS

    catalogues = {lang: {m.id: m.string for m in read_po(
        (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb")) if m.id}
        for lang in ("nl", "en", "ar")}
    codes = _codes()
    assert {"chomeurs", "sans-papiers"} <= codes["audience"]
    assert {"eid-reader", "email"} <= codes["digital"]
    for kind, found in codes.items():
        for code in found:
            french = LABELS[kind].get(code)
            assert french, (kind, code)
            for lang, catalogue in catalogues.items():
                assert catalogue.get(french), (kind, code, lang)
    # And the page shows the words, never the code.
    for lang, words in (("nl", "een e-mailadres"), ("en", "an e-mail address"),
                        ("ar", catalogues["ar"]["une adresse e-mail"])):
        assert i18n.label("email", "digital", lang) == words


def test_a_refused_translation_says_which_step_and_which_list(staff):
    """A "bring" translation with a line too many is refused by the model (the lists go item by
    item with the French); the editor reads which language, step and list, in their language."""
    token = become(staff, "admin")
    from test_staff import _form
    db = store.connect(staff.db_path)
    pathway = next(p for p in store.list_pathways(db, status="active")
                   if any(len(s.bring) >= 2 for s in p.steps))
    step = next(i for i, s in enumerate(pathway.steps) if len(s.bring) >= 2)
    url = f"/staff/edit/pathway/{pathway.id}"
    data = _form(staff.client.get(url).text)
    french = pathway.steps[step].bring
    data[f"tr-nl-steps-{step}-bring"] = ["\n".join([*french, "Nog iets"])]
    data["csrf"] = [token]
    n, total = len(french) + 1, len(french)
    for lang, expected in (
            ("fr", f"Traduction Nederlands, étape {step + 1}, liste « apporter » : lignes "
                   f"traduites : {n}, lignes en français : {total}."),
            ("nl", f"Vertaling Nederlands, stap {step + 1}, lijst „meebrengen”: vertaalde "
                   f"regels: {n}, regels in het Frans: {total}."),
            ("en", f"Nederlands translation, step {step + 1}, “bring” list: translated lines: "
                   f"{n}, lines in French: {total}."),
            ("ar", f"الترجمة Nederlands، الخطوة {step + 1}، قائمة «ما يجب إحضاره»")):
        refused = staff.client.post(url, params={"lang": lang}, data=data)
        assert refused.status_code == 422, lang
        text = html.unescape(refused.text)
        assert expected in text, lang
        assert "Cette valeur est refusée" not in text and "items for" not in text
        # Next to the translations, not lost at the top of a long form.
        slot = text.split('id="err-translations"')[1].split("</")[0]
        assert expected.split(",")[0] in slot, lang
    # Nothing was saved.
    assert store.get_pathway(store.connect(staff.db_path), pathway.id) == pathway
