"""Fuzzing with Hypothesis: every importer reader, fed random JSON shapes and values or random
CSV cells, either imports or refuses with a domain error (``ImportFailed``, ``InvalidData``:
what the CLI turns into a one-line message) — never another exception, which the CLI would
show as a traceback. The search query planner takes any text — Arabic, control characters,
punctuation alone, very long input — without raising at all.

The runs are bounded (a fixed number of examples, no example database) so the file takes
seconds; the shapes are drawn from the fields the readers look at, so that random values reach
the mapper and the store rather than being dismissed at the door.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orientation import importer, store
from orientation.errors import OrientationError
from orientation.search import SearchIndex, query
from orientation.search.analysis import Synonyms
from orientation.search.index import DEFAULT_SYNONYMS

FUZZ = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- random JSON in the shapes the readers expect ---------------------------------------------

IDS = st.sampled_from(["o1", "o2", "s1", "l1", "c1", "", "0d6c1f7e-6a43-4a36-9f43-2f7b7d3c9e51"])
KEYS = st.sampled_from([
    "id", "name", "description", "organization", "organization_id", "services",
    "organizations", "taxonomy_terms", "be_pathways", "contents", "content", "totalElements",
    "phones", "number", "extension", "type", "locations", "service_at_locations", "location",
    "location_id", "addresses", "address_1", "city", "postal_code", "country", "contacts",
    "schedules", "byday", "opens_at", "closes_at", "freq", "languages", "code", "attributes",
    "taxonomy_term_id", "url", "email", "status", "pc_metadata", "deliverable_type",
    "attending_type", "be_type", "latitude", "longitude", "required_documents", "document",
    "be_keywords", "be_categories", "fees", "fees_description", "assured_date",
    "application_process", "accessibility", "transportation", "be_access", "be_closures",
    "be_given_name", "be_absences", "parent_id", "website", "_at",
]) | st.text(max_size=4)
LEAVES = (st.none() | st.booleans() | st.integers() | st.floats() | IDS
          | st.text(max_size=20) | st.sampled_from(["MO", "09:00", "25:99", "2024-02-30",
                                                   "www.example.be", "<p>x</p>"]))
VALUES = st.recursive(LEAVES, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(KEYS, inner, max_size=5), max_leaves=12)


def record(required: dict) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(required, optional={k: VALUES for k in (
        "description", "phones", "locations", "service_at_locations", "contacts", "schedules",
        "languages", "attributes", "url", "email", "status", "organization", "addresses",
        "pc_metadata", "deliverable_type", "be_keywords", "latitude")})


ORGS = record({"id": IDS | VALUES, "name": VALUES})
SERVICES = record({"id": IDS | VALUES, "organization_id": IDS | VALUES, "name": VALUES})
DOCUMENTS = st.one_of(
    VALUES,
    st.lists(SERVICES, max_size=4),
    st.fixed_dictionaries({"organizations": st.lists(ORGS, max_size=3),
                           "services": st.lists(SERVICES, max_size=4)},
                          optional={"taxonomy_terms": VALUES, "be_pathways": VALUES}),
    st.fixed_dictionaries({"content": st.lists(SERVICES, max_size=4),
                           "totalElements": st.integers()}),
    st.fixed_dictionaries({"contents": st.lists(SERVICES, max_size=4)}),
)


@pytest.fixture(scope="module")
def fuzz_dir():
    folder = Path(tempfile.mkdtemp(prefix="orientation-fuzz-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def fuzz_db(fuzz_dir):
    db = store.connect(fuzz_dir / "fuzz.db")
    yield db
    db.close()


def load(db, path: Path, fmt: str) -> None:
    """Import, where only a domain error may escape (the CLI prints it on one line)."""
    try:
        importer.load(db, path, fmt=fmt)
    except OrientationError:
        pass


@pytest.mark.parametrize("fmt", ["hsds-json", "oruk-json"])
@FUZZ
@given(document=DOCUMENTS)
def test_json_readers_take_any_shape(fuzz_db, fuzz_dir, fmt, document):
    path = fuzz_dir / "feed.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    load(fuzz_db, path, fmt)


@FUZZ
@given(lines=st.lists(st.one_of(
    VALUES.map(json.dumps),
    st.builds(lambda kind, obj: json.dumps({**obj, "be_type": kind}),
              st.sampled_from(["organization", "service", "taxonomy_term", "pathway"])
              | VALUES, SERVICES | ORGS),
    st.text(max_size=30)), max_size=6))
def test_ndjson_reader_takes_any_line(fuzz_db, fuzz_dir, lines):
    path = fuzz_dir / "feed.ndjson"
    path.write_text("\n".join(lines), encoding="utf-8")
    load(fuzz_db, path, "hsds-ndjson")


@FUZZ
@given(data=st.binary(max_size=300))
def test_detection_takes_any_bytes(fuzz_db, fuzz_dir, data):
    path = fuzz_dir / "unknown.json"
    path.write_bytes(data)
    try:
        importer.load(fuzz_db, path)
    except OrientationError:
        pass


# --- random CSV cells -----------------------------------------------------------------------

TABLES = {
    "organizations.csv": ["id", "name", "description", "email", "url"],
    "locations.csv": ["id", "organization_id", "name", "latitude", "longitude",
                      "transportation", "be_accessibility"],
    "services.csv": ["id", "organization_id", "location_id", "name", "description", "fees",
                     "status", "languages", "keywords", "be_access", "taxonomy_ids"],
    "phones.csv": ["id", "service_id", "location_id", "contact_id", "number", "extension",
                   "type", "language"],
    "regular_schedules.csv": ["id", "service_id", "location_id", "weekday", "opens_at",
                              "closes_at"],
    "holiday_schedules.csv": ["id", "service_id", "closed", "start_date", "end_date"],
    "contacts.csv": ["id", "organization_id", "service_id", "name", "title", "email"],
    "taxonomy_terms.csv": ["id", "name", "parent_id", "be_position"],
}
CELLS = st.one_of(st.sampled_from(["o1", "o2", "l1", "s1", "c1", "", "Monday", "9am",
                                   "5:30 PM", "25:99", "true", "50,85", "nan", "inf",
                                   "2024-01-01", "12/31/2024", "fr", "Spanish.", "{}", "[1]"]),
                  st.text(max_size=15))


def table(header: list[str]) -> st.SearchStrategy[list[list[str]]]:
    return st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header)), max_size=4)


@FUZZ
@given(tables=st.fixed_dictionaries({name: table(header) for name, header in TABLES.items()}),
       delimiter=st.sampled_from([",", ";"]),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]))
def test_tabular_reader_takes_any_cells(fuzz_db, fuzz_dir, tables, delimiter, encoding):
    folder = fuzz_dir / "package"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for name, rows in tables.items():
        out = io.StringIO()
        csv.writer(out, delimiter=delimiter).writerows([TABLES[name], *rows])
        (folder / name).write_bytes(out.getvalue().encode(encoding, errors="replace"))
    load(fuzz_db, folder, "hsds-csv")


# --- the search query planner ---------------------------------------------------------------

@pytest.fixture(scope="module")
def search(seeded_template, fuzz_dir):
    shutil.copy(seeded_template, fuzz_dir / "seeded.db")
    db = store.connect(fuzz_dir / "seeded.db")
    index = SearchIndex.create(fuzz_dir / "index", db)
    yield db, index
    index.close()
    db.close()


QUERIES = st.one_of(
    st.text(max_size=60),
    st.text(st.characters(min_codepoint=0x0600, max_codepoint=0x06FF), max_size=40),  # Arabic
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), max_size=40),
    st.text(st.characters(categories=["P", "S"]), max_size=40),  # punctuation, symbols only
    st.lists(st.sampled_from(["logement", "loyr", "CPAS", "sans-abri", "ONEM", "chômage",
                              "الإيجار", "aide", "d'urgence", "l’onem", "dettes", "--", "’",
                              "\u200b", "\x00"]), max_size=12).map(" ".join),
    st.text(min_size=500, max_size=3000),  # very long input
)


@FUZZ
@given(text=QUERIES)
def test_query_planner_takes_any_text(search, text):
    db, index = search
    synonyms = Synonyms.load(DEFAULT_SYNONYMS)
    with index.snapshot(db) as snap:
        planned = query.plan(snap, synonyms, text)
    assert isinstance(planned, query.Plan)
    if len(text) <= 500:  # longer queries are refused by search() with a domain error
        index.search(db, text, use_cache=False)
