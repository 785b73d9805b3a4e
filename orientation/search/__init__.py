"""Search over services and pathways: a whoosh index kept as a rebuildable cache of the database.

Modules: ``index`` (``SearchIndex``: building, syncing, snapshots, the results cache),
``ranking`` (``Filters``, ``Results``: the ranking rules below), ``query`` (words to scored
groups), ``scoring`` (BM25F over the postings, filter masks, "open now"), ``analysis``
(folding, stems, synonyms, typos), ``documents`` (what the index holds), ``snippets``,
``build`` (a rebuild's postings written in bulk), ``segments`` (what a segment holds, shared
by snapshots; when small segments are merged) and ``storage`` (segments read in place).
Callers import from this package: ``from orientation.search import SearchIndex, Filters``.

How a query is understood (text analysis is in ``analysis.py``):

- The query is folded and split into words; stop words (French, Dutch, English) and filler
  words ("besoin", "aide", "help", "lukt") are dropped. Negations ("pas", "plus", "geen",
  "no") are dropped too, but only after phrases are matched: inside a phrase they count.
- A word the index does not know is corrected to the closest known word(s) within 1 edit (up
  to 7 letters) or 2 (longer); ``Results.corrected`` then shows the corrected query.
- Phrases from ``seed/synonyms.txt`` are recognised ("revenu d'intégration") and also find
  their synonyms ("RIS", "leefloon"). A phrase's word may be replaced by a one-word synonym
  of its group and negations are interchangeable, so one rule "perdu mon travail, plus de
  travail => chômage" also understands "perdu mon boulot" and "geen werk" (``Synonyms``).
- Each remaining word (or synonym phrase) becomes one *group*: its stems in French, Dutch and
  English, its corrections and its synonyms, searched in the ``title`` and ``body`` fields.
  Arabic words (folded and lightly stemmed, ``analysis``) find the directory only through the
  per-language synonyms files (``seed/synonyms.ar.txt``…, read with ``synonyms.txt``).
- A query with text but no group left (no word known, or only fillers and negations) finds
  nothing, whatever the filters, and ``Results.understood`` is false: it never lists the whole
  directory. An empty query browses by filters (a kiosk need tile).

Ranking rules, in order:

1. **Coverage.** Documents that match every group come first and form the result set. Only when
   fewer than ``MIN_RESULTS`` (3) do, documents matching all groups but one follow them, then
   those matching any group (``Results.relaxed`` is then true). *Weak* words
   (``analysis.WEAK``: price, "sent", "received", "personne") qualify a need without naming
   one: they are not counted for coverage (unless the query has nothing else) and weigh
   ``WEAK_WEIGHT`` (0.3), so "lunettes pas cher" is about glasses, and a document that only
   says "moins cher" cannot win because the need words are missing from it.
2. **Relevance** is BM25F (whoosh's formula and statistics, computed in ``scoring.py``),
   summed over groups (the weights are in ``query.py``). A match in ``title`` — the
   service's name, the pathway's need in plain words, the names of its needs (taxonomy
   labels) and its keywords —
   weighs ``TITLE_BOOST`` (3x) a match in ``body`` (description, organisation, audience,
   place). The typed word weighs 1, a synonym ``SYNONYM_WEIGHT`` (0.8), a typo correction
   ``TYPO_WEIGHT`` (0.7 for one edit, 0.5 for two). Within a group only the best alternative
   counts (plus a tenth of the others), and every alternative is scored with the group's
   IDF, so that a rare synonym does not outrank the common word typed.
3. **Where and when** (only when ``near`` is given, as the kiosk and console do): the score is
   multiplied by ``NEAR_BOOST`` (1.5) for a service in that commune, ``NEIGHBOUR_BOOST``
   (1.2) in a neighbouring one (``orientation/communes.py``), ``REGION_BOOST`` (1.1) elsewhere
   in the same region, and by ``OPEN_BOOST`` (1.15) when it is open at ``at``. Boosts
   multiply the text score, so a much better text match further away still comes first.
4. **The person's own first** (only with ``home``, the commune where the person lives or
   stays; it defaults to ``near``): records of the person's region come before another
   region's, whatever their coverage and scores (a pathway's region is the one it declares, a service's
   those of its places; a record without a place is of no region), and, within them, what
   serves the person's commune before what is for other communes' residents only (a
   service with ``residents_only``, a pathway that does not cover the commune).
   ``Hit.elsewhere`` names the other region, ``Hit.outside`` says "not for you".
5. **Pathways first** (``pathways_first=True``, the kiosk): matching pathways, which end with a
   named person, are listed before services, each part in the order above.
6. Ties: index order (alphabetical by name after a rebuild), so the order is stable.

Communes as filters: ``Filters.commune`` keeps what *serves the people* of a commune (its
service areas hold the commune, or it has none; a pathway: the communes it covers),
``Filters.located_in`` what *has a place* in it (with ``nearby``: or in a neighbouring one).

A pathway's filters (open now, walk-in, free, language, step-free, digital) are those of its
first step's service: where the person goes first. Its communes are those of all its steps.

Freshness: every search first compares the database's audit generation (``store.generation``)
with the index's; any write since then is applied to the index (one writer at a time) and a new
searcher is opened before the search runs, so a search never misses a committed write. The
index also records the generation it reflects, so another process's writes are picked up too.

Concurrency: one writer (a lock in the process, whoosh's write lock across processes). Readers
share a snapshot (``scoring.Snapshot``: a searcher and the arrays, filter masks and caches of
one generation) and a new ``ix.searcher()`` is opened when the generation changes;
``Searcher.refresh()`` is never used, because in both whoosh forks it keeps returning old
versions of updated documents. A retired snapshot is closed when its last reader leaves.
Searches on one snapshot are serialised by a lock: whoosh readers share file positions, and
search holds the GIL for most of its time anyway (scale with processes, not threads).

Speed: results are cached per (generation, query, filters, page, minute); a term's scored
postings, filter masks and open-now sets are cached per snapshot; every write invalidates all
of it by changing the generation.
"""

from .documents import AUDIENCES, FLAGS
from .index import DEFAULT_SYNONYMS, SearchIndex
from .ranking import FacetCount, Filters, Hit, Need, Results
from .snippets import snippet

__all__ = ["AUDIENCES", "DEFAULT_SYNONYMS", "FLAGS", "FacetCount", "Filters", "Hit", "Need",
           "Results", "SearchIndex", "snippet"]
