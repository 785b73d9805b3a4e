"""Benchmarks: print figures, assert nothing. Tooling, not an app layer: they drive
``orientation``, ``api`` and ``kiosk`` from outside, and nothing there imports them.

    python -m bench.search   # relevance on the seed, search speed against SQLite FTS5 (make bench)
    python -m bench.relevance  # relevance on the seed per query language (fr, nl, en, ar)
    python -m bench.api      # imports, exports and HTTP latency of /api/v1 and /hsds
    python -m bench.kiosk    # kiosk screens, slips, speech
    python -m bench.staff    # staff console pages
    python -m bench.reads    # uncached read rows: SQL statements, CPU and profile per request
"""
