"""The staff console and the desk in French, Dutch and English: the language follows ?lang=,
then the account's own choice, then the browser; no French interface text is left on a Dutch
page (names, addresses and directory content stay as written), codes have labels, and the
Dutch console passes axe-core."""

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


def _french_ui() -> set[str]:
    """The console's own French sentences and words (the catalogue's "staff" entries) that
    Dutch says differently."""
    po = read_po((i18n.LOCALE_DIR / "nl" / "LC_MESSAGES" / "messages.po").open("rb"))
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


def test_facets_and_digital_needs_show_labels_in_every_language(staff):
    become(staff, "staff")
    for lang, words in (("fr", ("Personnes au chômage", "Personnes sans papiers")),
                        ("nl", ("Werklozen", "Mensen zonder papieren")),
                        ("en", ("Unemployed people", "Undocumented people"))):
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
    page.get_by_label("Gebruikersnaam").fill("ada")
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    page.wait_for_url(site.url + "/staff")
    service = site.services[0]
    for name, path in {"home": "/staff", "search": "/staff/search?q=logement",
                       "service": f"/staff/service/{service.id}",
                       "edit-service": f"/staff/edit/service/{service.id}",
                       "problems": "/staff/problems", "reports": "/staff/reports",
                       "desk": "/desk"}.items():
        page.goto(site.url + path)
        assert page.locator("html").get_attribute("lang") == "nl", name
        check_axe(page, f"nl-{name}")
