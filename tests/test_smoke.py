def test_healthz_counts_the_seeded_directory(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["counts"]["service"] > 0
    assert body["index_documents"] >= body["counts"]["service"]
