import datetime as dt
import re

import pytest

from orientation import unmet


@pytest.mark.parametrize(
    "query, kept",
    [
        ("aide loyer", "aide loyer"),
        ("Chômage arrêté", "chômage arrêté"),
        ("aide Dupont Marie 0470123456", "aide"),
        ("expulsion rue Haute 12 1000", "expulsion rue"),
        ("numéro national 85.07.30-033.61", "numéro national"),
        ("mail jean.dupont@example.be", "mail"),
        ("appeler +32 2 123 45 67", "appeler"),
        ("l'ONEM m'a écrit", "l'onem m'a écrit"),
        ("123456", ""),
    ],
)
def test_clean_strips_digits_contacts_and_names(query, kept):
    assert unmet.clean(query) == kept


def test_report_shows_only_terms_seen_at_least_three_times(empty_db):
    day = dt.date(2026, 11, 23)
    for _ in range(3):
        unmet.record(empty_db, "garde d'enfants malades", 0, channel="kiosk", day=day)
    unmet.record(empty_db, "garde d'enfants malades", 1, channel="staff", day=day)
    unmet.record(empty_db, "Rachid Benali cherche", 0, channel="kiosk", day=day)
    unmet.record(empty_db, "cherche Rachid Benali", 0, channel="kiosk", day=day)
    unmet.record(empty_db, "aide Dupont", 0, channel="kiosk", day=day)
    assert not unmet.record(empty_db, "logement", 12, channel="kiosk", day=day)
    rows = unmet.report(empty_db)
    assert [(r.week, r.terms, r.zero, r.low) for r in rows] == [
        ("2026-W48", "garde d'enfants malades", 3, 1)]
    # A caller cannot lower the threshold below three.
    assert [r.terms for r in unmet.report(empty_db, min_seen=1)] == ["garde d'enfants malades"]
    stored = [row["terms"] for row in empty_db.query("select terms from unmet_searches")]
    assert not any(re.search(r"\d", t) for t in stored)
    assert not any("benali" in t or "dupont" in t for t in stored if not t.startswith("rachid"))


def test_only_known_words_are_kept_so_a_surname_typed_alone_is_not(db, index_dir):
    """A surname typed alone and lowercase looks like any word: only a vocabulary (the
    directory's words, the synonyms, French/Dutch/English word lists) tells it apart."""
    from orientation.search import SearchIndex

    index = SearchIndex.open(index_dir, db)
    try:
        def known(word):
            return index.knows(db, word)

        assert unmet.clean("vandenbussche", known) == ""
        assert unmet.clean("dewaele vanderstraeten", known) == ""
        assert unmet.clean("cours de xylophone", known) == "cours de xylophone"
        assert unmet.clean("huur betalen", known) == "huur betalen"  # Dutch words stay
        day = dt.date(2026, 11, 23)
        for _ in range(3):
            assert not unmet.record(db, "dewaele", 0, channel="kiosk", day=day, known=known)
        assert unmet.report(db) == []
    finally:
        index.close()
