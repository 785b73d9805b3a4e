"""The kiosk's kept pages (kiosk/cache.py): served again while nothing that shapes them has
changed, made again after any write, never shared across languages or communes, and never
kept when the response sets a cookie."""

from __future__ import annotations

from orientation import store


def _cache(client):
    return client.app.state.page_cache


def test_the_same_page_is_made_once_then_served_from_the_cache(client, db):
    service = next(store.iter_services(db, status="active"))
    first = client.get(f"/service/{service.id}")
    misses, hits = _cache(client).misses, _cache(client).hits
    again = client.get(f"/service/{service.id}")
    assert first.status_code == again.status_code == 200
    assert again.text == first.text and again.headers["content-type"] == \
        first.headers["content-type"]
    assert (_cache(client).misses, _cache(client).hits) == (misses, hits + 1)
    # The fragment htmx asks for is another page.
    fragment = client.get(f"/service/{service.id}", headers={"HX-Request": "true"})
    assert _cache(client).misses == misses + 1 and fragment.status_code == 200


def test_a_write_makes_the_page_again(client, db):
    service = next(store.iter_services(db, status="active"))
    assert service.name in client.get(f"/service/{service.id}").text
    renamed = store.save_service(db, store.get_service(db, service.id).__replace__(
        name="Permanence renommée pour le test"), actor="test")
    page = client.get(f"/service/{service.id}").text
    assert renamed.name in page


def test_language_and_commune_each_get_their_own_page(client):
    french = client.get("/need/argent").text
    client.cookies.set("lang", "nl")
    dutch = client.get("/need/argent").text
    assert dutch != french and 'lang="nl"' in dutch
    client.cookies.set("commune", "schaerbeek")
    placed = client.get("/need/argent").text
    assert "Schaerbeek" in placed and "Schaerbeek" not in dutch
    client.cookies.clear()
    assert client.get("/need/argent").text == french


def test_a_response_that_sets_a_cookie_is_not_kept(client):
    client.get("/")
    misses = _cache(client).misses
    for _ in range(2):
        response = client.get("/", params={"lang": "ar"})
        assert response.cookies["lang"] == "ar"
    assert _cache(client).misses == misses + 2
