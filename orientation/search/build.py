"""Writing a whole index at once (a rebuild), without whoosh's per-posting Python work.

whoosh's ``add_document`` runs each field through an analyzer and a format (a Token object per
word), adds every posting as a tuple to a pool that is sorted (and spilled to temporary files
past ``limitmb``), then at commit reads each posting's field length back from the length
column and appends it to a posting block one call at a time: at 100 000 services that is
~17 million postings through a dozen Python calls each, most of a rebuild's time.

Our fields are already analysed (``documents``: space-separated stems, words and tags; ids), so
``BulkWriter`` counts each document's terms with one ``Counter``, appends docnums and
frequencies to one array pair per term, and at commit writes each term's blocks directly:
the same codec (whoosh3), the same block size, the same postings, weights, values, field
lengths, stored fields and block statistics as ``add_document`` + ``commit`` would write, so
readers and scores cannot tell the difference (``tests/test_search.py`` compares both).

The block writing uses ``W3PostingsWriter``'s buffers (``_ids``, ``_weights``…), private to
whoosh: the reason whoosh-reloaded is pinned exactly, as for reading blocks in ``scoring.py``.
"""

from __future__ import annotations

from array import array
from collections import Counter

from whoosh.formats import Existence
from whoosh.system import pack_uint
from whoosh.writing import SegmentWriter


class BulkWriter(SegmentWriter):
    """A segment writer for documents whose indexed fields are pre-analysed: an ID field's
    value is one term, any other indexed field's value is its space-separated terms."""

    def __init__(self, ix, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        schema = self.schema
        self._order = sorted(schema.names())  # the order add_document writes fields in
        self._postings: dict[str, dict[str, tuple[array, array]]] = {
            name: {} for name in self._order if schema[name].indexed}
        # Per scorable field, each document's length: the block statistics need them.
        self._lengths: dict[str, array] = {
            name: array("I") for name in self._order if schema[name].scorable}

    def add(self, doc: dict[str, str]) -> None:
        """Add one document (what ``documents.*_document`` returns)."""
        self._check_state()
        docnum = self.docnum
        schema = self.schema
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        for name in self._order:
            value = doc.get(name)
            field = schema[name]
            length = 0
            if value is not None and field.indexed:
                counts = {value: 1} if isinstance(field.format, Existence) \
                    else Counter(value.split())
                table = self._postings[name]
                for term, freq in counts.items():
                    entry = table.get(term)
                    if entry is None:
                        entry = table[term] = (array("I"), array("I"))
                    entry[0].append(docnum)
                    entry[1].append(freq)
                if field.scorable:
                    length = sum(counts.values())
            if name in self._lengths:
                self._lengths[name].append(length)
            if value is not None:
                perdoc.add_field(name, field, value if field.stored else None, length)
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        writer = self.fieldwriter
        for name, table in self._postings.items():
            if not table:
                continue
            field = self.schema[name]
            existence = isinstance(field.format, Existence)
            lengths = self._lengths.get(name)
            writer.start_field(name, field)
            postings = writer._postwriter
            size = postings._blocklimit
            for term in sorted(table):  # code point order = UTF-8 byte order
                ids, freqs = table[term]
                writer.start_term(term.encode("utf-8"))
                for start in range(0, len(ids), size):
                    block_ids = ids[start:start + size]
                    block_freqs = freqs[start:start + size]
                    postings._ids = block_ids
                    if existence:
                        postings._weights = array("f", [field.format.field_boost]) \
                            * len(block_ids)
                        postings._values = []
                        postings._maxweight = field.format.field_boost
                    else:
                        postings._weights = array("f", block_freqs)
                        postings._values = [pack_uint(f) for f in block_freqs]
                        postings._maxweight = float(max(block_freqs))
                    if lengths is not None:
                        block_lengths = [lengths[d] for d in block_ids]
                        postings._minlength = min(block_lengths) or None
                        postings._maxlength = max(block_lengths)
                    if start + size < len(ids):
                        postings._write_block()  # the last one: finish_term writes it
                writer.finish_term()
            writer.finish_field()
        writer.close()
        self._postings.clear()
