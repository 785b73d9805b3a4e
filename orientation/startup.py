"""What the server needs before it answers: a migrated database (seeded when empty) and a
search index that matches it. Used by ``orientation serve`` once before the workers start, and
by each app's lifespan."""

from __future__ import annotations

from pathlib import Path

from . import seed as seeding
from . import store
from .search import SearchIndex


def open_index(db_path: Path, index_dir: Path, *, seed_dir: Path | None = None) -> SearchIndex:
    """Migrate the database, seed it if it is empty, and open the search index (rebuilt when
    missing or stale); the caller closes the index."""
    db = store.connect(db_path)
    try:
        # A new database gets the sample directory; one started with `seed --no-sample` (the
        # taxonomy, no organisations yet) is a real directory being built: left as it is.
        if store.is_empty(db) and not store.list_terms(db):
            seeding.load(db, Path(seed_dir) if seed_dir else seeding.DEFAULT_SEED_DIR)
        else:  # a directory made by import or sync: the needs taxonomy ships with the product
            seeding.ensure_taxonomy(db)
        return SearchIndex.open(index_dir, db)
    finally:
        db.close()


def prepare(db_path: Path, index_dir: Path, *, seed_dir: Path | None = None) -> dict[str, int]:
    """First-run work, done once before the server starts: migrate, seed an empty database,
    and make sure the search index matches the database. Returns the directory's counts."""
    open_index(db_path, index_dir, seed_dir=seed_dir).close()
    db = store.connect(db_path, migrate=False)
    try:
        return store.counts(db)
    finally:
        db.close()
