"""The search index: a whoosh index kept as a rebuildable cache of the database.

Building and rebuilding it, applying the writes made since its generation (freshness), the
snapshots readers share (concurrency), the synonyms file and the results cache: see the package
docstring (``orientation/search/__init__.py``). Ranking itself is in ``ranking.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import shutil
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
from sqlite_utils import Database
from whoosh import index as whoosh_index

from .. import hours, store
from ..errors import InvalidData, NotFound
from ..models import TaxonomyTerm
from . import analysis, documents, ranking, scoring, storage
from .analysis import Synonyms
from .build import BulkWriter
from .documents import META_ID, SCHEMA_VERSION, Tag
from .ranking import Filters, Results
from .scoring import Snapshot
from .segments import SegmentCache, merge_plan, merge_policy, segment_id

storage.install()  # whoosh reads segments in place, without copying them
log = logging.getLogger(__name__)

DEFAULT_SYNONYMS = Path(__file__).resolve().parents[2] / "seed" / "synonyms.txt"
RESULT_CACHE_SIZE = 1024


# --- The index ----------------------------------------------------------------------------


class SearchIndex:
    """A whoosh index that mirrors the database (which stays the source of truth)."""

    def __init__(self, directory: Path, ix, *, synonyms_path: Path | None = None) -> None:
        self.directory = Path(directory)
        self._ix = ix
        self._write_lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._segments = SegmentCache()
        self._merging = threading.Lock()  # one background merge at a time
        self._cache: OrderedDict[tuple, Results] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.synonyms_path = DEFAULT_SYNONYMS if synonyms_path is None else Path(synonyms_path)
        self._synonyms_mtime: tuple | None = None
        self._synonyms_checked = float("-inf")
        self.synonyms_check_seconds = 2.0
        self._synonyms = Synonyms()
        self._load_synonyms()
        # The word list for typo correction (~2 s) and the holiday tables (~0.5 s) load once
        # per process: start now, off the first request.
        threading.Thread(target=_warm_up, daemon=True).start()

    # -- opening and building

    @classmethod
    def create(cls, directory: Path, db: Database, *,
               synonyms_path: Path | None = None) -> SearchIndex:
        """Build a fresh index from the database (replaces any existing one)."""
        directory = Path(directory)
        _clear(directory)
        ix = whoosh_index.create_in(str(directory), documents.schema())
        index = cls(directory, ix, synonyms_path=synonyms_path)
        index.rebuild(db)
        return index

    @classmethod
    def open(cls, directory: Path, db: Database, *,
             synonyms_path: Path | None = None) -> SearchIndex:
        """Open the index, rebuilding it when missing, corrupt, of an older schema, built from
        another database, or ahead of this one (a database restored from a copy)."""
        directory = Path(directory)
        try:
            ix = whoosh_index.open_dir(str(directory))
            with ix.searcher() as searcher:
                meta = _read_meta(searcher)
                if meta.get("schema") != SCHEMA_VERSION or set(ix.schema.names()) != set(
                        documents.schema().names()):
                    raise ValueError("index of an older schema")
                if meta.get("origin") != store.audit_origin(db):
                    raise ValueError("index of another database")
                if meta["generation"] > store.generation(db):
                    raise ValueError("index ahead of the database")
                searcher.doc_count()
        except Exception:
            with contextlib.suppress(Exception):
                ix.close()
            return cls.create(directory, db, synonyms_path=synonyms_path)
        index = cls(directory, ix, synonyms_path=synonyms_path)
        index.sync(db)
        threading.Thread(target=index._warm_snapshot, daemon=True).start()
        return index

    def _warm_snapshot(self) -> None:
        """Read what every search needs (kinds, field lengths, the typo vocabulary) before the
        first request asks: kept per segment, later snapshots share it."""
        with self._swap_lock:  # held like a search holds it: not closed under our feet
            snapshot = self._snapshot
            if snapshot is None or snapshot.retired:
                return
            snapshot.users += 1
        try:
            with snapshot.lock:
                snapshot.any_of([f"{Tag.KIND}service", f"{Tag.KIND}pathway"])
                for field in scoring.FIELDS:
                    snapshot.field_lengths(field)
                snapshot.vocabulary  # noqa: B018 - read for its side effect
        except Exception:  # only a head start: the first search reads what is missing
            log.debug("warming the search snapshot failed", exc_info=True)
        finally:
            with self._swap_lock:
                snapshot.users -= 1
                if snapshot.retired and snapshot.users == 0:
                    snapshot.close()

    def rebuild(self, db: Database) -> None:
        """Re-index every active service and pathway (the index is a cache of the database)."""
        with self._write_lock:
            self._rebuild(db)

    def _rebuild(self, db: Database) -> None:
        generation = store.generation(db)
        ctx = documents.Context(db, bulk=True)
        writer = BulkWriter(self._ix, timeout=30.0)
        try:
            for service in store.iter_services(db, status="active"):
                ctx.remember(service)
                doc = documents.service_document(service, ctx)
                if doc:
                    writer.add(doc)
            for pathway in store.list_pathways(db, status="active"):
                doc = documents.pathway_document(pathway, ctx)
                if doc:
                    writer.add(doc)
            writer.add(documents.meta_document(generation, store.audit_origin(db)))
            writer.commit(mergetype=_clear_segments)
        except BaseException:
            writer.cancel()
            raise
        self._swap(generation, ctx.terms)

    def sync(self, db: Database) -> int:
        """Apply every write made since the index's generation; returns the generation."""
        return self._current(db).generation

    def _current(self, db: Database) -> Snapshot:
        generation = store.generation(db)
        snapshot = self._snapshot
        if snapshot is not None and snapshot.generation == generation:
            return snapshot
        with self._write_lock:
            snapshot = self._snapshot
            if snapshot is not None and snapshot.generation == generation:
                return snapshot
            if snapshot is not None and snapshot.toc == self._ix.latest_generation():
                indexed = snapshot.indexed  # nobody committed since: no reader to open
            else:
                with self._ix.searcher() as latest:  # another process may have written
                    indexed = _read_meta(latest).get("generation", 0)
            if indexed > generation:  # the database went back (restored from a copy)
                self._rebuild(db)
            else:
                if indexed < generation:  # (writes after ``generation`` may come along)
                    generation = self._apply(db, indexed, snapshot)
                self._swap(generation, {t.id: t for t in store.list_terms(db)})
            return self._snapshot

    def _apply(self, db: Database, since: int, base: Snapshot | None = None) -> int:
        """Re-index what changed after generation ``since``; returns the new generation.
        ``base``: the current snapshot, whose searcher finds the documents to replace when
        it reads the same segments as the writer (else whoosh opens every segment again)."""
        top, changed = store.changes_since(db, since)
        ctx = documents.Context(db)
        services: set[str] = set()
        pathways: set[str] = set()
        for entity, entity_id in changed:
            if entity == "service":
                services.add(entity_id)
                pathways.update(store.pathways_using(db, service_id=entity_id))
            elif entity == "pathway":
                pathways.add(entity_id)
            elif entity == "organization":
                services.update(s.id for s in store.iter_services(db, organization_id=entity_id))
            elif entity == "location":
                services.update(store.services_at_location(db, entity_id))
                pathways.update(store.pathways_using(db, location_id=entity_id))
            elif entity == "taxonomy_term":  # labels are in every document: re-index all
                services.update(s.id for s in store.iter_services(db))
                pathways.update(p.id for p in store.list_pathways(db))
        for service_id in list(services):
            pathways.update(store.pathways_using(db, service_id=service_id))
        writer = BulkWriter(self._ix, timeout=30.0)
        if base is not None and base.toc != writer.generation - 1:
            base = None
        try:
            for entity_id in sorted(services):
                service = ctx.service(entity_id)
                doc = documents.service_document(service, ctx) if service else None
                _put(writer, entity_id, doc, base)
            for entity_id in sorted(pathways):
                try:
                    doc = documents.pathway_document(store.get_pathway(db, entity_id), ctx)
                except NotFound:
                    doc = None
                _put(writer, entity_id, doc, base)
            _put(writer, META_ID, documents.meta_document(top, store.audit_origin(db)), base)
            # No merge here: at 100 000 services whoosh's policies may rewrite the big segment
            # on a request. Small segments are merged after the write (``_merge_later``).
            writer.commit(merge=False)
        except BaseException:
            writer.cancel()
            raise
        self._merge_later()
        return top

    def _merge_later(self) -> None:
        """Merge small segments in a thread when a size tier is full (``segments.py``)."""
        due = bool(merge_plan(self._ix._segments()))  # read from the table of contents
        if due and self._merging.acquire(blocking=False):
            threading.Thread(target=self._merge, daemon=True, name="index-merge").start()

    def _merge(self) -> None:
        try:
            with self._write_lock:
                writer = self._ix.writer(timeout=30.0)
                try:
                    writer.commit(mergetype=merge_policy)
                except BaseException:
                    writer.cancel()
                    raise
                # Same documents, same generation: a snapshot of the merged segments, opened
                # here rather than by the next write (which finds what it replaces through it).
                current = self._snapshot
                if current is not None and not current.retired:
                    self._swap(current.generation, current.terms)
        except Exception:
            log.exception("merging the search index's small segments failed; retried later")
        finally:
            self._merging.release()

    def merge_now(self) -> None:
        """Wait for a running background merge, then merge whatever is due (tests, bench)."""
        with self._merging:
            pass
        due = bool(merge_plan(self._ix._segments()))
        if due and self._merging.acquire():
            self._merge()

    def _swap(self, generation: int, terms: dict[str, TaxonomyTerm]) -> None:
        new = Snapshot(self._ix.searcher(), generation, terms, self._segments)
        new.toc, new.indexed = new.reader.generation(), _read_meta(new.searcher).get(
            "generation", 0)
        self._segments.keep({segment_id(leaf) for leaf, _ in new.leaves})
        with self._swap_lock:
            old, self._snapshot = self._snapshot, new
            with self._cache_lock:
                self._cache.clear()
            if old is not None:
                old.retired = True
                if old.users == 0:
                    old.close()

    @contextlib.contextmanager
    def snapshot(self, db: Database) -> Iterator[Snapshot]:
        """The current snapshot (synced with ``db`` first), held for the ``with`` block:
        searches on it are serialised, and it is closed only once its last user leaves."""
        while True:
            snapshot = self._current(db)
            with self._swap_lock:
                if not snapshot.retired:
                    snapshot.users += 1
                    break
        try:
            with snapshot.lock:
                yield snapshot
        finally:
            with self._swap_lock:
                snapshot.users -= 1
                if snapshot.retired and snapshot.users == 0:
                    snapshot.close()

    def knows(self, db: Database, word: str) -> bool:
        """Whether ``word`` is a word of the directory, of the synonyms file or of the French,
        Dutch and English word lists: what may be kept of a search that found nothing without
        keeping a person's name typed in the box (orientation/unmet.py)."""
        folded = analysis.fold(word)
        if analysis.is_word(folded) or self._load_synonyms().knows(folded):
            return True
        with self.snapshot(db) as snapshot:
            return snapshot.knows(folded)

    def _load_synonyms(self) -> Synonyms:
        # A stat() per search can stall for tens of milliseconds on a busy disk: look at the
        # file at most every ``synonyms_check_seconds``.
        now = time.monotonic()
        if now - self._synonyms_checked < self.synonyms_check_seconds:
            return self._synonyms
        self._synonyms_checked = now
        # synonyms.txt and the per-language files beside it (synonyms.ar.txt…)
        try:
            mtime = tuple((p.name, p.stat().st_mtime) for p in Synonyms.files(self.synonyms_path))
        except OSError:
            mtime = None
        if mtime != self._synonyms_mtime:
            self._synonyms_mtime = mtime
            try:
                self._synonyms = Synonyms.load(self.synonyms_path if mtime else None)
            except (ValueError, OSError, UnicodeDecodeError) as exc:
                # A mistake while editing the file must not stop search: keep the rules
                # already loaded and say what is wrong.
                log.warning("synonyms not reloaded from %s: %s", self.synonyms_path, exc)
            with self._cache_lock:
                self._cache.clear()
        return self._synonyms

    # -- searching

    def search(
        self,
        db: Database,
        query: str = "",
        *,
        filters: Filters | None = None,
        near: str | None = None,
        at: dt.datetime | None = None,
        lang: str = "fr",
        limit: int = 10,
        offset: int = 0,
        facets: bool = False,
        pathways_first: bool = False,
        use_cache: bool = True,
        home: str | None = None,
    ) -> Results:
        """Search services and pathways; see the module docstring for the ranking rules.

        ``query`` may be empty to browse by filters (a kiosk tile). ``near`` is the commune
        where the person is (boosts, and ``Hit.near``); ``home`` the commune where the person
        lives, or stays without a home address (default: ``near``): its region's records come
        first and what serves its people before what is for other communes' residents
        (``Hit.elsewhere``, ``Hit.outside``); ``at`` the moment for "open now" (default: now,
        Europe/Brussels); ``lang`` the language of titles and snippets.
        Raises InvalidData for an unknown need, commune, language or a bad page.
        """
        filters = filters or Filters()
        if not 0 < limit <= 100 or offset < 0:
            raise InvalidData("limit must be 1 to 100 and offset 0 or more", field="limit")
        if len(query) > 500:
            raise InvalidData("the query is too long (500 characters at most)", field="q")
        at = at or hours.now()
        synonyms = self._load_synonyms()
        near_communes = ranking.near_communes(near)
        home = ranking.home_commune(home) or (near_communes[0] if near_communes else None)
        with self.snapshot(db) as snap:
            key = (snap.generation, query, msgspec.json.encode(filters), near, home, lang,
                   limit, offset, facets, pathways_first, at.replace(second=0, microsecond=0))
            if use_cache:
                with self._cache_lock:  # shared by the readers of every snapshot
                    cached = self._cache.get(key)
                    if cached is not None:
                        self._cache.move_to_end(key)
                        return cached
            results = ranking.rank(snap, synonyms, query, filters, near_communes, at, lang,
                                   limit, offset, facets, pathways_first, home)
            if use_cache:
                with self._cache_lock:
                    self._cache[key] = results
                    if len(self._cache) > RESULT_CACHE_SIZE:
                        self._cache.popitem(last=False)
            return results

    # -- the rest of the interface

    def doc_count(self) -> int:
        """Services and pathways in the index."""
        with self._ix.searcher() as searcher:
            return searcher.doc_count() - (1 if _read_meta(searcher) else 0)

    def segments(self) -> list[tuple[str, int]]:
        """(id, documents) of each segment of the index, in index order."""
        return [(segment.segment_id(), segment.doc_count_all())
                for segment in self._ix._segments()]

    def close(self) -> None:
        with self._merging:  # a background merge finishes first
            pass
        with self._swap_lock:
            if self._snapshot is not None:
                self._snapshot.retired = True
                if self._snapshot.users == 0:
                    self._snapshot.close()
                self._snapshot = None
        self._ix.close()


# --- Helpers ------------------------------------------------------------------------------


def _warm_up() -> None:
    analysis.dictionary()
    hours.public_holiday(hours.now().date())


def _put(writer: BulkWriter, entity_id: str, doc: dict[str, Any] | None,
         base: Snapshot | None) -> None:
    """Replace (or delete) a document, what whoosh's ``update_document`` does, with the old
    version found through ``base`` when given (it reads the writer's segments)."""
    if base is None:
        writer.delete_by_term("id", entity_id)
    else:
        with base.lock:  # a snapshot's searches and reads are serialised
            writer.delete_by_term("id", entity_id, searcher=base.searcher)
    if doc is not None:
        writer.add(doc)


def _read_meta(searcher) -> dict[str, Any]:
    stored = searcher.document(id=META_ID)
    return msgspec.json.decode(stored["data"]) if stored else {}


def _clear_segments(writer, segments):
    """Merge policy for a rebuild: drop every existing segment."""
    return []


_WHOOSH_FILE = re.compile(r"^_?MAIN_|\.(toc|seg|pst|trm|fln|sto|vps|dci|dcz|lock)$")


def _clear(directory: Path) -> None:
    """Remove an index's files, and only those (the folder may be shared)."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        if path.is_file() and (_WHOOSH_FILE.search(path.name)
                               or path.name in ("SCHEMA_VERSION", "GENERATION")):
            path.unlink()
        elif path.is_dir() and path.name.startswith("MAIN_"):
            shutil.rmtree(path)
