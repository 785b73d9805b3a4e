"""Copy a central directory into this one: ``orientation sync --from URL``.

A kiosk in a CPAS waiting room serves its own SQLite copy and takes what changed from a
central Orientation (or any HSDS 3.1 API) every few minutes. The source is read through its
HSDS API (``/hsds/services?full=true`` pages with ``modified_after``, the organisations those
services name, and the full list of service ids to see what went away); its records go through
the importer's mapping (ids, needs from categories: ``importer.mapper``) and are saved with
their audit rows, under the actor ``sync from <url>``.

What never happens:
- a failing link changes something. Everything is read and checked first (bounded time per
  request, bounded pages, each page an HSDS page), then written in one transaction; a timeout,
  an error status, text that is not JSON or a page of the wrong shape raises ``SyncFailed``
  before the first write, and the kiosk keeps serving its last good copy;
- a local record is overwritten. A record whose source id is not this source's (a service
  entered at the kiosk, a help request: those are not directory records at all) is left
  alone, and a synced record edited here since the sync last wrote it keeps the local edit and
  is reported as a conflict.

A service that is no longer listed by the source (deleted or deactivated there: the HSDS list
shows active services only) becomes inactive here. From another Orientation, the pathways
come too (``/api/v1/pathways``), under the same rules; a pathway has no source id, so one the
sync never wrote is a local one. The next sync asks for what changed since the start of the
last successful one, minus ``MARGIN`` (the two clocks may differ; reading a record twice
changes nothing, an unchanged record is not written). Limits of the HSDS route: it carries the
public view (no staff-only lines, no contact absences); a change to an organisation or
location alone is seen when one of its services changes.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
from sqlite_utils import Database

from . import seed as seeding
from . import store
from .errors import InvalidData, OrientationError
from .importer import Bundle, ImportFailed
from .importer.mapper import save_bundle
from .models import Pathway

TIMEOUT = 20.0  # seconds for one request: a kiosk link that hangs is a link that is down
MAX_PAGES = 1000  # 100,000 services at 100 a page: a source that never ends is refused
MAX_BYTES = 32 * 1024 * 1024  # one answer
PER_PAGE = 100
MARGIN = dt.timedelta(minutes=10)


class SyncFailed(OrientationError):
    """The source could not be read whole; nothing was changed here."""

    code = "sync-failed"
    status = 502

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message)
        #: the source's HTTP status, when it answered one
        self.http_status = http_status


class Change(msgspec.Struct, kw_only=True):
    entity: str
    id: str
    name: str
    reason: str | None = None


class SyncReport(msgspec.Struct, kw_only=True):
    source: str
    since: str | None = None
    dry_run: bool = False
    added: list[Change] = []
    updated: list[Change] = []
    deactivated: list[Change] = []
    conflicts: list[Change] = []
    skipped: list[Change] = []

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deactivated)

    def lines(self) -> list[str]:
        since = f" (changes since {self.since})" if self.since else " (everything)"
        head = "dry run, nothing written: " if self.dry_run else ""
        out = [(f"{head}sync from {self.source}{since}: {len(self.added)} added, "
                f"{len(self.updated)} updated, {len(self.deactivated)} deactivated, "
                f"{len(self.conflicts)} conflicts, {len(self.skipped)} skipped")]
        for label, changes in (("added", self.added), ("updated", self.updated),
                               ("deactivated", self.deactivated),
                               ("conflict", self.conflicts), ("skipped", self.skipped)):
            for c in changes:
                why = f": {c.reason}" if c.reason else ""
                out.append(f"  {label} {c.entity} {c.name!r} ({c.id}){why}")
        return out


# --- reading the source ---------------------------------------------------------------------


class Source:
    """One HSDS API read over HTTP, every answer checked before it is used."""

    def __init__(self, url: str, *, key: str | None = None, timeout: float = TIMEOUT) -> None:
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout
        self.base = self.url  # the HSDS API (found by ``resolve``)
        self.root = self.url  # the server
        self.orientation = False  # another Orientation: it has pathways too

    def get(self, path: str, *, root: bool = False, **params: Any) -> Any:
        """The JSON answer of ``path`` (relative to the HSDS base, or with ``root`` to the
        server), or SyncFailed."""
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.root if root else self.base}{path}" + (f"?{query}" if query else "")
        headers = {"Accept": "application/json", "User-Agent": "orientation-sync"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        try:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                body = answer.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise SyncFailed(f"{url} answered {exc.code} {exc.reason}",
                             http_status=exc.code) from None
        except (urllib.error.URLError, OSError, socket.timeout) as exc:
            reason = getattr(exc, "reason", exc)
            raise SyncFailed(f"cannot reach {url}: {reason}") from None
        if len(body) > MAX_BYTES:
            raise SyncFailed(f"{url} answered more than {MAX_BYTES // 2**20} MB")
        try:
            return json.loads(body)
        except (ValueError, RecursionError):
            raise SyncFailed(f"{url} did not answer JSON") from None

    def resolve(self) -> None:
        """Find the HSDS API (``URL/hsds`` on an Orientation server, else ``URL`` itself) and
        whether the source is another Orientation (its HSDS meta names it as publisher)."""
        meta = None
        try:
            if self.url.endswith("/hsds"):
                self.root = self.url.removesuffix("/hsds")
                meta = self.get("/")
            else:
                meta = self.get("/hsds/")
                self.base = self.url + "/hsds"
        except SyncFailed as exc:
            if exc.http_status != 404:
                raise
        publisher = meta.get("publisher") if isinstance(meta, dict) else None
        self.orientation = isinstance(publisher, dict) \
            and publisher.get("name") == "Orientation"

    def pages(self, path: str, **params: Any) -> Iterator[list[dict]]:
        """The items of every page of an HSDS listing, checked."""
        for number in range(1, MAX_PAGES + 1):
            page = self.get(path, page=number, per_page=PER_PAGE, **params)
            if not (isinstance(page, dict) and isinstance(page.get("contents"), list)
                    and isinstance(page.get("total_pages"), int)):
                raise SyncFailed(f"{self.base}{path} page {number} is not an HSDS page "
                                 "(no contents list or total_pages)")
            for item in page["contents"]:
                _check_item(item, f"{self.base}{path} page {number}")
            yield page["contents"]
            if number >= page["total_pages"] or page.get("last_page") is True \
                    or not page["contents"]:
                return
        raise SyncFailed(f"{self.base}{path} has more than {MAX_PAGES} pages")


    def pathways(self) -> list[dict] | None:
        """Our pathways, when the source is an Orientation (``/api/v1/pathways``, active
        ones); None from another HSDS API, which has none."""
        if not self.orientation:
            return None
        found: list[dict] = []
        for number in range(1, MAX_PAGES + 1):
            page = self.get("/api/v1/pathways", root=True, page=number, per_page=PER_PAGE)
            if not (isinstance(page, dict) and isinstance(page.get("items"), list)
                    and isinstance(page.get("total_pages"), int)
                    and all(isinstance(p, dict) and isinstance(p.get("id"), str)
                            for p in page["items"])):
                raise SyncFailed(f"{self.url}/api/v1/pathways page {number} is not a page "
                                 "of pathways")
            found += page["items"]
            if number >= page["total_pages"] or not page["items"]:
                return found
        raise SyncFailed(f"{self.url}/api/v1/pathways has more than {MAX_PAGES} pages")


def _check_item(item: Any, where: str) -> None:
    if not (isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"]
            and isinstance(item.get("name"), str)):
        raise SyncFailed(f"{where}: an item without a text id and name")


def _read(source: Source, since: str | None) -> tuple[Bundle, set[str], list[dict] | None]:
    """(the changed services with their organisations, every service id the source lists,
    the source's pathways if it has any)."""
    services = [item for page in source.pages("/services", full="true",
                                              modified_after=since) for item in page]
    for i, item in enumerate(services):
        if "service_at_locations" not in item:  # an API without ?full: one service at a time
            services[i] = source.get(f"/services/{urllib.parse.quote(item['id'])}")
            _check_item(services[i], f"{source.base}/services/{item['id']}")
    listed = {item["id"] for page in source.pages("/services", minimal="true")
              for item in page}
    organizations = []
    for org_id in dict.fromkeys(str(s.get("organization_id") or
                                    (s.get("organization") or {}).get("id")) for s in services):
        org = source.get(f"/organizations/{urllib.parse.quote(org_id)}")
        _check_item(org, f"{source.base}/organizations/{org_id}")
        organizations.append(org)
    terms: dict[str, dict] = {}
    for s in services:
        for attribute in s.get("attributes") or []:
            term = attribute.get("taxonomy_term") if isinstance(attribute, dict) else None
            if isinstance(term, dict) and term.get("id"):
                terms.setdefault(str(term["id"]), term)
    at = source.base
    pathways = source.pathways()
    return Bundle(
        terms=[{**t, "_at": (at + "/taxonomy_terms", i + 1)} for i, t in enumerate(terms.values())],
        organizations=[{**o, "_at": (at + "/organizations", i + 1)}
                       for i, o in enumerate(organizations)],
        services=[{**s, "_at": (at + "/services", i + 1)} for i, s in enumerate(services)],
    ), listed, pathways


# --- writing --------------------------------------------------------------------------------


class _DryRun(Exception):
    pass


def _name(record: Any) -> str:
    name = getattr(record, "name", None) or getattr(record, "code", None) or record.id
    return str(name)


class _Guard:
    """Decides, record by record, what the sync may write (see the module docstring)."""

    def __init__(self, db: Database, report: SyncReport, actor: str, prefix: str) -> None:
        self.db, self.report, self.actor, self.prefix = db, report, actor, prefix
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, entity: str, record: Any) -> bool:
        key = (entity, record.id)
        first = key not in self.seen
        self.seen.add(key)
        change = Change(entity=entity, id=record.id, name=_name(record))
        if not store.exists(self.db, entity, record.id):
            if first:
                self.report.added.append(change)
            return True
        if entity == "taxonomy_term":
            # The needs ship with the product, the same ids on every server; an HSDS term
            # has no tile position, so a copy of it would reorder the kiosk's home.
            return False
        local = store.get(self.db, entity, record.id)
        if msgspec.to_builtins(local) == msgspec.to_builtins(record):
            return False
        if not str(getattr(local, "source_id", None) or "").startswith(self.prefix):
            if first:
                self.report.skipped.append(msgspec.structs.replace(
                    change, reason="a local record has this id; it stays as it is"))
            return False
        if store.edited_locally(self.db, entity, record.id, self.actor):
            if first:
                self.report.conflicts.append(msgspec.structs.replace(
                    change, reason="edited here since the last sync; the local edit stays"))
            return False
        if first and not any(c.id == record.id for c in self.report.added):
            self.report.updated.append(change)
        return True


def _deactivate(db: Database, report: SyncReport, guard: _Guard, listed: set[str]) -> None:
    """Services of this source it no longer lists become inactive (never deleted: a local
    pathway may still name them, and their history stays)."""
    for service_id in store.synced_ids(db, "service", guard.prefix):
        service = store.get_service(db, service_id)
        original = (service.source_id or "")[len(guard.prefix):]
        if original in listed or service_id in listed:
            continue
        change = Change(entity="service", id=service_id, name=service.name)
        if store.edited_locally(db, "service", service_id, guard.actor):
            report.conflicts.append(msgspec.structs.replace(
                change, reason="gone from the source but edited here; it stays active"))
            continue
        try:
            store.save(db, msgspec.structs.replace(service, status="inactive"),
                       actor=guard.actor)
        except InvalidData as exc:  # a local pathway still needs it: say so, keep it
            report.skipped.append(msgspec.structs.replace(change, reason=str(exc)))
            continue
        report.deactivated.append(change)


def _pathways(db: Database, report: SyncReport, actor: str, items: list[dict]) -> None:
    """The source's pathways, with the same rules as the directory's records. A pathway has
    no source id: one the sync never wrote is a local one. Each is saved on its own
    savepoint, so one that our rules refuse here is reported and the others still come."""
    ours = store.written_by(db, "pathway", actor)
    listed = set()
    for data in items:
        try:
            pathway = msgspec.convert(data, Pathway)
        except msgspec.ValidationError as exc:
            raise SyncFailed(f"pathway {data.get('id')!r} from the source: {exc}") from None
        listed.add(pathway.id)
        change = Change(entity="pathway", id=pathway.id, name=pathway.need)
        exists = store.exists(db, "pathway", pathway.id)
        if exists:
            local = store.get_pathway(db, pathway.id)
            if msgspec.to_builtins(local) == msgspec.to_builtins(pathway):
                continue
            if pathway.id not in ours:
                report.skipped.append(msgspec.structs.replace(
                    change, reason="a local record has this id; it stays as it is"))
                continue
            if store.edited_locally(db, "pathway", pathway.id, actor):
                report.conflicts.append(msgspec.structs.replace(
                    change, reason="edited here since the last sync; the local edit stays"))
                continue
        try:
            with store.transaction(db):
                store.save(db, pathway, actor=actor)
        except InvalidData as exc:
            report.skipped.append(msgspec.structs.replace(change, reason=str(exc)))
            continue
        (report.updated if exists else report.added).append(change)
    for pathway_id in sorted(ours - listed):
        pathway = store.get_pathway(db, pathway_id)
        if pathway.status != "active":
            continue
        change = Change(entity="pathway", id=pathway_id, name=pathway.need)
        if store.edited_locally(db, "pathway", pathway_id, actor):
            report.conflicts.append(msgspec.structs.replace(
                change, reason="gone from the source but edited here; it stays active"))
            continue
        store.save(db, msgspec.structs.replace(pathway, status="inactive"), actor=actor)
        report.deactivated.append(change)


def sync(db: Database, url: str, *, key: str | None = None, dry_run: bool = False,
         timeout: float = TIMEOUT, full: bool = False,
         margin: dt.timedelta = MARGIN) -> SyncReport:
    """Copy what changed at ``url`` since the last successful sync into ``db``, in one
    transaction; ``SyncFailed`` (nothing written) when the source cannot be read whole.
    ``full`` asks for every record again (a first sync does); ``margin``: how much earlier
    than the last sync's start to ask from (for clocks that differ)."""
    url = url.rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise InvalidData(f"--from: {url!r} is not an http(s) address", field="from")

    def clock() -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    started = clock()
    source = Source(url, key=key, timeout=timeout)
    source.resolve()
    # One name per source, whichever address was typed (the server or its /hsds): the
    # source ids, the audit rows and the last sync's time are kept under it.
    url = source.root
    last = None if full else store.last_sync(db, url)
    since = None
    if last:
        since = (dt.datetime.fromisoformat(last["started_at"]) - margin).isoformat()
    report = SyncReport(source=url, since=since, dry_run=dry_run)
    bundle, listed, pathways = _read(source, since)

    actor = f"sync from {url}"
    guard = _Guard(db, report, actor, f"{url}:")
    try:
        with store.transaction(db):
            seeding.ensure_taxonomy(db)
            if bundle.services:
                try:
                    save_bundle(db, bundle, source=url, fmt="hsds-api", actor=actor,
                                name=url, guard=guard)
                except ImportFailed as exc:
                    raise SyncFailed(f"{url} sent a record we cannot store: {exc}") from None
            if pathways is not None:  # before the services: a pathway may leave one
                _pathways(db, report, actor, pathways)
            _deactivate(db, report, guard, listed)
            store.record_sync(
                db, url, started_at=started.isoformat(),
                finished_at=clock().isoformat(),
                report={k: len(getattr(report, k)) for k in
                        ("added", "updated", "deactivated", "conflicts", "skipped")})
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def every(seconds: float, run: Callable[[], Any], *, log: Callable[[str], Any],
          sleep: Callable[[float], Any] = time.sleep, rounds: int | None = None) -> None:
    """``run()`` now and then every ``seconds`` (``--every``), logging a failure and trying
    again at the next round: a kiosk whose link is down keeps its copy and keeps trying."""
    done = 0
    while rounds is None or done < rounds:
        try:
            run()
        except OrientationError as exc:
            log(f"sync failed, local copy kept: {exc}")
        done += 1
        if rounds is None or done < rounds:
            sleep(seconds)


def parse_every(text: str) -> float:
    """Seconds of "15m", "1h", "90s" or "300" (``--every``); at least 30 seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    text = text.strip().lower()
    try:
        seconds = float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
    except ValueError:
        raise InvalidData(f"--every: {text!r} is not a duration like 15m, 1h or 90s",
                          field="every") from None
    if seconds < 30:
        raise InvalidData("--every: at least 30s between two syncs", field="every")
    return seconds
