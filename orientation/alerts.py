"""Saved searches with alerts for social workers: "tell me when a service I refer to changes".

A worker saves a console search (words, needs, the commune served, filters) under a label of
their own. Its alerts are the changes, since the worker last marked it seen, of the services
it finds: hours changed, closed (made inactive, a closure added, removed), opened (new or made
active again), phone changed, and a new service that now matches.

How a change is found, without watching every search on every write: the audit trail is the
directory's clock (``store.generation``). Each saved search keeps the generation it was last
seen at and the services it matched then. Its changes are the audit rows of services written
since (``store.service_changes``: the primary key's range, so the cost is the rows written
since, not the directory), kept when the service matched then or matches now; the search is
run again only when a service was written at all. "Matches now" is the console's own search
(the same index, the same filters), minus "open now" and "open today", which change with the
clock, not with the directory.

The console badge (:func:`unseen_count`) keeps each search's count with the generation it was
computed at (``checked_generation``): a page costs one ``max(id)`` of the audit and one read
of the worker's saved searches while nothing is written (``bench/alerts.py`` measures it).

The daily digest (:func:`send_digests`, ``orientation alerts --send``) e-mails the changes
since the last digest to each worker who asked, in the account's language. It names only
services and what changed about them, with links to the console: never the search's label,
its words or its commune (the worker's, and they may say something about a person).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from typing import Any

import msgspec
from sqlite_utils import Database

from . import accounts, mail, store
from .errors import InvalidData, NotFound
from .fields import is_email
from .models import new_id
from .search import Filters, SearchIndex

MAX_NAME = 80
MAX_PER_ACCOUNT = 50
_PAGE = 100  # the index's largest page
#: What a change can be, in the order the console lists them.
KINDS = ("new", "opened", "closed", "closure", "removed", "hours", "phone")


class SavedSearch(msgspec.Struct, kw_only=True):
    id: str
    user_id: str
    name: str
    query: str
    filters: Filters
    email: str | None = None
    created_at: str
    seen_generation: int
    seen_matches: list[str]
    checked_generation: int = 0
    unseen: int = 0
    mailed_generation: int = 0
    mailed_matches: list[str] = []


class Change(msgspec.Struct, kw_only=True):
    """One thing that changed about one service (the newest of its kind since then)."""

    service_id: str
    name: str
    kind: str  # one of KINDS
    at: str  # ISO time of the write
    audit_id: int
    date_from: str | None = None  # a closure's dates
    date_to: str | None = None


class Report(msgspec.Struct, kw_only=True):
    """A saved search's changes since a generation, and where it stands now."""

    generation: int  # the directory generation the changes run to
    matches: list[str]  # the services it finds at that generation
    changes: list[Change]


def _search(row: dict[str, Any]) -> SavedSearch:
    data = dict(row)
    data["filters"] = json.loads(row["filters"])
    data["seen_matches"] = json.loads(row["seen_matches"] or "[]")
    data["mailed_matches"] = json.loads(row["mailed_matches"] or "[]")
    return msgspec.convert({k: v for k, v in data.items() if v is not None}, SavedSearch,
                           strict=False)


def criteria(filters: Filters) -> Filters:
    """The filters a saved search keeps: the clock-bound ones ("open now", "open today")
    would make services come and go every hour, which is not news."""
    return msgspec.structs.replace(filters, open_now=False, open_today=False)


def matches(db: Database, index: SearchIndex, query: str,
            filters: Filters) -> tuple[int, list[str]]:
    """(the generation searched, the services the search finds), all pages of them."""
    found: list[str] = []
    offset, generation = 0, 0
    while True:
        results = index.search(db, query, filters=criteria(filters), limit=_PAGE,
                               offset=offset, use_cache=False)
        generation = generation or results.generation
        found += [h.id for h in results.hits if h.kind == "service"]
        offset += _PAGE
        if offset >= results.total:
            return generation, sorted(set(found))


# --- Saving, listing, seeing ------------------------------------------------------------------


def save(db: Database, index: SearchIndex, user_id: str, *, name: str, query: str,
         filters: Filters, email: str | None = None) -> SavedSearch:
    """Save a search for a worker. The name is the worker's own label (the form asks for no
    person's name). Refused in words: an empty or long name, a bad e-mail address, an unknown
    commune or need (the search's own check), too many saved searches."""
    name = " ".join(name.split())
    if not name:
        raise InvalidData("give the search a name", field="name")
    if len(name) > MAX_NAME:
        raise InvalidData(f"the name is too long ({MAX_NAME} characters at most)",
                          field="name")
    email = (email or "").strip() or None
    if email is not None and not is_email(email):
        raise InvalidData(f"not an e-mail address: {email!r}", field="email")
    if len(store.saved_search_rows(db, user_id=user_id)) >= MAX_PER_ACCOUNT:
        raise InvalidData(f"{MAX_PER_ACCOUNT} saved searches at most: delete one first",
                          field="name")
    query = " ".join(query.split())[:200]
    filters = criteria(filters)
    generation, found = matches(db, index, query, filters)  # InvalidData: unknown commune…
    row = {
        "id": new_id(), "user_id": user_id, "name": name, "query": query,
        "filters": msgspec.json.encode(filters).decode(), "email": email,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seen_generation": generation, "seen_matches": json.dumps(found),
        "checked_generation": generation, "unseen": 0,
        "mailed_generation": generation, "mailed_matches": json.dumps(found),
    }
    store.insert_saved_search(db, row)
    return _search(row)


def saved_searches(db: Database, user_id: str) -> list[SavedSearch]:
    return [_search(r) for r in store.saved_search_rows(db, user_id=user_id)]


def get_own(db: Database, user_id: str, search_id: str) -> SavedSearch:
    """A worker's own saved search; another's is "not found", so its existence is not told."""
    row = store.saved_search_row(db, search_id)
    if row is None or row["user_id"] != user_id:
        raise NotFound("saved search", search_id)
    return _search(row)


def delete(db: Database, user_id: str, search_id: str) -> None:
    get_own(db, user_id, search_id)
    store.delete_saved_search(db, search_id)


def set_email(db: Database, user_id: str, search_id: str, email: str | None) -> None:
    """Start (an address) or stop (None) the daily e-mail of a saved search; it starts from
    now, so the first digest does not repeat what the worker already saw."""
    search = get_own(db, user_id, search_id)
    email = (email or "").strip() or None
    if email is not None and not is_email(email):
        raise InvalidData(f"not an e-mail address: {email!r}", field="email")
    fields: dict[str, Any] = {"email": email}
    if email and not search.email:
        fields.update(mailed_generation=store.generation(db),
                      mailed_matches=json.dumps(search.seen_matches))
    store.update_saved_search(db, search_id, fields)


# --- What changed -----------------------------------------------------------------------------


def _closures_added(before: Any, after: Any, today: dt.date) -> list[dict[str, Any]]:
    old = json.loads(before) if before else []
    return [c for c in (json.loads(after) if after else [])
            if c not in old and c.get("date_to", "") >= today.isoformat()]


def _kind(row: dict[str, Any], today: dt.date) -> tuple[str, dict[str, Any]] | None:
    """What one audit row of a service means for an alert (None: nothing to say)."""
    if row["action"] == "delete":
        return "removed", {}
    field = row["field"]
    if field == "schedules":
        return "hours", {}
    if field == "phones":
        return "phone", {}
    if field == "status":
        after = json.loads(row["after"]) if row["after"] else None
        return ("closed", {}) if after == "inactive" else ("opened", {})
    if field == "closures":
        added = _closures_added(row["before"], row["after"], today)
        if added:
            first = min(added, key=lambda c: c["date_from"])
            return "closure", {"date_from": first["date_from"], "date_to": first["date_to"]}
    return None


def report(db: Database, index: SearchIndex, search: SavedSearch, since: int,
           snapshot: list[str], *, today: dt.date | None = None) -> Report:
    """The changes of the services ``search`` finds, since generation ``since`` when it
    found ``snapshot``."""
    today = today or dt.date.today()
    changed = store.services_changed_since(db, since)
    if not changed:  # no service written since: nothing to tell, no search to run
        return Report(generation=store.generation(db), matches=snapshot, changes=[])
    generation, current = matches(db, index, search.query, search.filters)
    before, now = set(snapshot), set(current)
    found: dict[tuple[str, str], Change] = {}
    removed_names: dict[str, str] = {}
    for row in store.service_changes(db, since):
        if row["id"] > generation:
            break  # written after the search ran: the next look will tell it
        service_id = row["entity_id"]
        if row["action"] == "create" or (service_id not in before and service_id not in now):
            continue  # a new service is told below, once it matches
        meaning = _kind(row, today)
        if meaning is None:
            continue
        kind, dates = meaning
        if kind == "removed" and row["before"]:
            removed_names[service_id] = json.loads(row["before"]).get("name", service_id)
        found[(service_id, kind)] = Change(service_id=service_id, name="", kind=kind,
                                           at=row["at"], audit_id=row["id"], **dates)
    for service_id in sorted((now - before) & changed):
        if (service_id, "opened") not in found:
            found[(service_id, "new")] = Change(service_id=service_id, name="", kind="new",
                                                at="", audit_id=generation)
    names = store.service_names(db, {c.service_id for c in found.values()})
    changes = sorted(found.values(), key=lambda c: (KINDS.index(c.kind), c.audit_id))
    for change in changes:
        change.name = names.get(change.service_id) \
            or removed_names.get(change.service_id, change.service_id)
    return Report(generation=generation, matches=current, changes=changes)


def unseen(db: Database, index: SearchIndex, search: SavedSearch) -> Report:
    """The changes the worker has not marked seen."""
    return report(db, index, search, search.seen_generation, search.seen_matches)


def mark_seen(db: Database, index: SearchIndex, user_id: str, search_id: str) -> None:
    """The worker has read the alerts of a search: it starts again from now."""
    search = get_own(db, user_id, search_id)
    generation, found = matches(db, index, search.query, search.filters)
    store.update_saved_search(db, search_id, {
        "seen_generation": generation, "seen_matches": json.dumps(found),
        "checked_generation": generation, "unseen": 0})


def unseen_count(db: Database, index: SearchIndex, user_id: str) -> int:
    """The console badge: unseen changes over a worker's saved searches. Each search's count
    is kept with the generation it was computed at, so while nothing is written this is one
    ``max(id)`` and one read of the worker's rows; after a write, only searches whose
    services were written are run again."""
    generation = store.generation(db)
    total = 0
    for search in saved_searches(db, user_id):
        if search.checked_generation != generation:
            counted = unseen(db, index, search)
            search.unseen = len(counted.changes)
            store.update_saved_search(db, search.id, {
                "checked_generation": max(counted.generation, search.seen_generation),
                "unseen": search.unseen})
        total += search.unseen
    return total


# --- The daily e-mail -------------------------------------------------------------------------

#: The digest in the account's language: subject (with the count), opening, the phrase of each
#: kind of change, the closing with the link to the console's alerts.
TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "subject": "Orientation : {n} changement(s) dans vos recherches enregistrées",
        "opening": "Bonjour,\n\nDes services que trouvent vos recherches enregistrées ont "
                   "changé depuis notre dernier e-mail :\n",
        "new": "nouveau service pour une de vos recherches",
        "opened": "ouvert à nouveau",
        "closed": "fermé (n'accueille plus personne pour le moment)",
        "closure": "fermeture prévue du {date_from} au {date_to}",
        "removed": "retiré de l'annuaire",
        "hours": "horaires changés",
        "phone": "numéro de téléphone changé",
        "closing": "\nToutes vos alertes, dans l'espace pro :\n{url}\n\n"
                   "Vous recevez cet e-mail parce que vous l'avez demandé pour une recherche "
                   "enregistrée. Pour l'arrêter, décochez « E-mail chaque jour » sur cette "
                   "page.\n\nl'équipe d'Orientation\n",
    },
    "nl": {
        "subject": "Orientation: {n} wijziging(en) in uw bewaarde zoekopdrachten",
        "opening": "Goeiedag,\n\nDiensten die uw bewaarde zoekopdrachten vinden, zijn "
                   "veranderd sinds onze vorige e-mail:\n",
        "new": "nieuwe dienst voor een van uw zoekopdrachten",
        "opened": "weer open",
        "closed": "gesloten (ontvangt voorlopig niemand meer)",
        "closure": "gesloten van {date_from} tot {date_to}",
        "removed": "uit de gids verwijderd",
        "hours": "openingsuren gewijzigd",
        "phone": "telefoonnummer gewijzigd",
        "closing": "\nAl uw meldingen, in de professionele ruimte:\n{url}\n\n"
                   "U krijgt deze e-mail omdat u hem gevraagd hebt voor een bewaarde "
                   "zoekopdracht. Om hem te stoppen, vink \"Elke dag een e-mail\" uit op die "
                   "pagina.\n\nhet team van Orientation\n",
    },
    "en": {
        "subject": "Orientation: {n} change(s) in your saved searches",
        "opening": "Hello,\n\nServices that your saved searches find have changed since our "
                   "last e-mail:\n",
        "new": "new service for one of your searches",
        "opened": "open again",
        "closed": "closed (not taking anyone for now)",
        "closure": "closed from {date_from} to {date_to}",
        "removed": "removed from the directory",
        "hours": "opening hours changed",
        "phone": "phone number changed",
        "closing": "\nAll your alerts, in the staff area:\n{url}\n\n"
                   "You receive this e-mail because you asked for it for a saved search. To "
                   "stop it, untick \"E-mail every day\" on that page.\n\nthe Orientation team\n",
    },
    "ar": {
        "subject": "Orientation: {n} تغيير في عمليات البحث المحفوظة",
        "opening": "مرحبًا،\n\nتغيّرت خدمات تجدها عمليات البحث المحفوظة لديكم منذ رسالتنا "
                   "الأخيرة:\n",
        "new": "خدمة جديدة لأحد عمليات البحث",
        "opened": "مفتوحة من جديد",
        "closed": "مغلقة (لا تستقبل أحدًا حاليًا)",
        "closure": "مغلقة من {date_from} إلى {date_to}",
        "removed": "حُذفت من الدليل",
        "hours": "تغيّرت مواعيد العمل",
        "phone": "تغيّر رقم الهاتف",
        "closing": "\nكل التنبيهات، في مساحة المهنيين:\n{url}\n\n"
                   "تصلكم هذه الرسالة لأنكم طلبتموها لعملية بحث محفوظة. لإيقافها، أزيلوا "
                   "علامة «بريد إلكتروني كل يوم» في تلك الصفحة.\n\nفريق Orientation\n",
    },
}


def _date(iso: str | None) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y") if iso else ""


def describe(change: Change, lang: str = "fr") -> str:
    """A change in plain words, in ``lang`` (fr, nl, en, ar; French otherwise)."""
    texts = TEXTS.get(lang, TEXTS["fr"])
    return texts[change.kind].format(date_from=_date(change.date_from),
                                     date_to=_date(change.date_to))


class Sent(msgspec.Struct, kw_only=True):
    user_id: str
    to: str
    changes: int


def digest_message(config: mail.MailSettings, to: str, lang: str, changes: list[Change],
                   base_url: str) -> Any:
    """One worker's digest: each service that changed, what changed, a link to its console
    page; then the link to the alerts page. Nothing else: no label, no words, no commune."""
    texts = TEXTS.get(lang, TEXTS["fr"])
    base = base_url.rstrip("/")
    lines = [texts["opening"]]
    for change in changes:
        lines.append(f"- {change.name} : {describe(change, lang)}" if lang == "fr"
                     else f"- {change.name}: {describe(change, lang)}")
        if change.kind != "removed":
            lines.append(f"  {base}/staff/service/{change.service_id}")
    lines.append(texts["closing"].format(url=f"{base}/staff/alerts"))
    return mail.message(config, to=to, subject=texts["subject"].format(n=len(changes)),
                        text="\n".join(lines), lang=lang if lang in TEXTS else "fr")


def send_digests(db: Database, index: SearchIndex, config: mail.MailSettings, *,
                 base_url: str, dry_run: bool = False) -> list[Sent]:
    """E-mail each worker who asked the changes since their last digest (one e-mail per
    address, nothing when nothing changed) and record each sent digest with the generation
    it ran to, so the next run starts there: a change is mailed once. A failure stops the
    run; what was sent before it stays recorded."""
    if not base_url:
        raise mail.MailError("no public address to put in the links: set public_url")
    users = {u.id: u for u in accounts.list_users(db)}
    by_address: dict[tuple[str, str], list[SavedSearch]] = defaultdict(list)
    for row in store.saved_search_rows(db, emailed=True):
        search = _search(row)
        user = users.get(search.user_id)
        if user is not None and user.active:
            by_address[(search.user_id, search.email or "")].append(search)
    sent = []
    for (user_id, to), searches in by_address.items():
        marks, changes = {}, {}
        for search in searches:
            found = report(db, index, search, search.mailed_generation, search.mailed_matches)
            marks[search.id] = {"mailed_generation": found.generation,
                                "mailed_matches": json.dumps(found.matches)}
            for change in found.changes:  # two searches finding one service: told once
                changes.setdefault((change.service_id, change.kind), change)
        if not changes:
            continue
        told = sorted(changes.values(), key=lambda c: (c.name.casefold(), KINDS.index(c.kind)))
        if not dry_run:
            lang = users[user_id].language or "fr"
            mail.send(config, [digest_message(config, to, lang, told, base_url)])
            store.record_alert_mail(db, {
                "user_id": user_id, "email": to,
                "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "searches": json.dumps(sorted(marks)), "changes": len(told),
                "generation": max(m["mailed_generation"] for m in marks.values())}, marks)
        sent.append(Sent(user_id=user_id, to=to, changes=len(told)))
    return sent
