"""Full-text search over services and pathways (whoosh).

FIRST VERSION: a small, correct index (services + pathways, French folding) that the search
work (issue #3) replaces with analysis, synonyms, typos, filters, facets and ranking. The
interface below is what the API and the kiosk call.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import msgspec
from sqlite_utils import Database
from whoosh import index as whoosh_index
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer
from whoosh.fields import ID, KEYWORD, TEXT, Schema
from whoosh.qparser import MultifieldParser, OrGroup
from whoosh.support.charset import accent_map

from . import store

SCHEMA_VERSION = "1"


def _schema() -> Schema:
    analyzer = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
    return Schema(
        id=ID(stored=True, unique=True),
        kind=ID(stored=True),
        title=TEXT(analyzer=analyzer, field_boost=3.0),
        body=TEXT(analyzer=analyzer),
        needs=KEYWORD(commas=True),
    )


class Hit(msgspec.Struct, kw_only=True):
    kind: str  # "service" | "pathway"
    id: str
    score: float


class Results(msgspec.Struct, kw_only=True):
    query: str
    total: int
    hits: list[Hit]


class SearchIndex:
    """A whoosh index that mirrors the database (which stays the source of truth)."""

    def __init__(self, directory: Path, ix) -> None:
        self.directory = directory
        self._ix = ix
        self._generation = -1

    @classmethod
    def create(cls, directory: Path, db: Database) -> SearchIndex:
        """Build a fresh index from the database (replaces any existing one)."""
        directory = Path(directory)
        if directory.exists():
            shutil.rmtree(directory)
        directory.mkdir(parents=True)
        ix = whoosh_index.create_in(str(directory), _schema())
        (directory / "SCHEMA_VERSION").write_text(SCHEMA_VERSION)
        index = cls(directory, ix)
        index.rebuild(db)
        return index

    @classmethod
    def open(cls, directory: Path, db: Database) -> SearchIndex:
        """Open the index, rebuilding it when missing, corrupt or of an older schema."""
        directory = Path(directory)
        try:
            version = (directory / "SCHEMA_VERSION").read_text().strip()
            if version != SCHEMA_VERSION:
                raise ValueError("old schema")
            index = cls(directory, whoosh_index.open_dir(str(directory)))
        except Exception:
            return cls.create(directory, db)
        index.sync(db)
        return index

    def _documents(self, db: Database, entity: str, entity_id: str) -> dict[str, Any] | None:
        try:
            record = store.get(db, entity, entity_id)
        except Exception:
            return None
        if record.status != "active":
            return None
        if entity == "service":
            return {"id": record.id, "kind": "service", "title": record.name,
                    "body": " ".join([record.description, *record.keywords]),
                    "needs": ",".join(record.needs)}
        return {"id": record.id, "kind": "pathway", "title": record.need,
                "body": record.summary or "", "needs": ",".join(record.themes)}

    def rebuild(self, db: Database) -> None:
        writer = self._ix.writer()
        generation = store.generation(db)
        for service in store.iter_services(db, status="active"):
            writer.update_document(**self._documents(db, "service", service.id))
        for pathway in store.list_pathways(db, status="active"):
            writer.update_document(**self._documents(db, "pathway", pathway.id))
        writer.commit(optimize=True)
        self._generation = generation
        (self.directory / "GENERATION").write_text(str(generation))

    def sync(self, db: Database) -> None:
        """Apply every write made since the index last looked at the audit trail."""
        if self._generation < 0:
            path = self.directory / "GENERATION"
            self._generation = int(path.read_text()) if path.exists() else 0
        top, changed = store.changes_since(db, self._generation)
        relevant = [(e, i) for e, i in changed if e in ("service", "pathway")]
        if relevant:
            writer = self._ix.writer()
            for entity, entity_id in relevant:
                doc = self._documents(db, entity, entity_id)
                if doc is None:
                    writer.delete_by_term("id", entity_id)
                else:
                    writer.update_document(**doc)
            writer.commit()
        if top != self._generation:
            self._generation = top
            (self.directory / "GENERATION").write_text(str(top))

    def search(self, db: Database, query: str, *, limit: int = 20) -> Results:
        self.sync(db)
        with self._ix.searcher() as searcher:
            parsed = MultifieldParser(["title", "body"], self._ix.schema,
                                      group=OrGroup).parse(query)
            found = searcher.search(parsed, limit=limit)
            return Results(query=query, total=len(found), hits=[
                Hit(kind=h["kind"], id=h["id"], score=h.score) for h in found])

    def doc_count(self) -> int:
        with self._ix.searcher() as searcher:
            return searcher.doc_count()

    def close(self) -> None:
        self._ix.close()
