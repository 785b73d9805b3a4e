"""Where the person lives, for the kiosk: "Où habitez-vous ?" and what it changes.

A CPAS, Actiris or Le Forem help only the people of their commune or region, so a pathway whose
steps name a role asks the commune once (or, without an address, where the person sleeps: its
CPAS is competent). The answer is kept like the language, in a cookie of the browser only,
cleared by the idle reset: never in the database, never in the logs. Until the person
answers, the kiosk's own commune stands in.

It also orders results: content of the person's region comes before another region's, and a
service for residents only that is not for the person's commune goes below, labelled.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request
from sqlite_utils import Database

from orientation import communes, store
from orientation.slip import Slip
from orientation.competence import competent

COOKIE = "commune"
#: The cookie holds a commune's slug (ASCII: "court-saint-etienne").
BY_SLUG = {communes.slug(c): c for c in communes.COMMUNES}


def person_commune(request: Request) -> str | None:
    """The commune the person gave, from the session cookie (None until they answer); a
    slip's QR code opened on a phone says it as ``?commune=``, which wins, like ``?lang=``."""
    asked = BY_SLUG.get(request.query_params.get(COOKIE, ""))
    return asked or BY_SLUG.get(request.cookies.get(COOKIE, ""))


class Place(msgspec.Struct, kw_only=True):
    """The "Votre commune : X — changer" control of need, search and pathway pages."""

    commune: str
    given: bool  # the person answered; else it is the kiosk's commune
    kiosk: str
    kiosk_slug: str


def current(request: Request) -> Place:
    """The person's commune, or the kiosk's (setting ``kiosk_commune``) until they answer."""
    setting = request.app.state.settings.kiosk_commune
    kiosk = communes.commune(setting) or setting
    given = person_commune(request)
    return Place(commune=given or kiosk, given=given is not None, kiosk=kiosk,
                 kiosk_slug=communes.slug(kiosk))


def for_qr(slip: Slip, where: Place) -> Slip:
    """The slip whose QR code leads to the same offices on a phone, which has no cookie (the
    reference code stays the pathway's)."""
    if not where.given or where.commune == where.kiosk:
        return slip
    query = urlencode({COOKIE: communes.slug(where.commune)})
    return msgspec.structs.replace(slip, query=f"{slip.query}&{query}")


class Placed(msgspec.Struct, kw_only=True):
    """A search hit and where it stands for the person."""

    hit: Any
    elsewhere: str | None  # the slug of its region, when not the person's
    outside: bool  # for residents only, and the person's commune is not among them
    #: The hit's pathway as read to place it, so its card need not read it again (services
    #: are placed from ``store.services_reach`` and read whole only for the cards shown).
    record: Any = None


#: A commune's region, kept: every hit names its communes and a search places up to a hundred
#: hits, each lookup folding the name's accents again (a pure function of a fixed list).
_region = functools.lru_cache(maxsize=1024)(communes.region)


def placed(db: Database, hits, home: str) -> list[Placed]:
    """Each hit with its region (when not ``home``'s) and whether a person of ``home`` may use
    it; hits deleted since the index looked are dropped. Every hit is read, in a few
    statements for all of them, not a few per hit."""
    hits = list(hits)
    region = communes.region(home)
    pathways = store.get_pathways(db, [h.id for h in hits if h.kind == "pathway"])
    # Whom each service serves, not whole records: the cards read the few they show.
    reach = store.services_reach(db, [h.id for h in hits if h.kind != "pathway"])
    found = []
    for hit in hits:
        if hit.kind == "pathway":
            record = pathways.get(hit.id)
            if record is None:
                continue
            declared = record.region
            regions = {"bruxelles", "brabant-wallon"} if declared == "both" else {declared}
            outside = False
        else:
            serves = reach.get(hit.id)
            if serves is None:
                continue
            record = None
            regions = {_region(c) for c in hit.communes} - {None}
            outside = not competent(serves, home)
        other = sorted(regions)[0] if region and regions and region not in regions else None
        found.append(Placed(hit=hit, elsewhere=other, outside=outside, record=record))
    return found


def own_first(found: list[Placed], *, pathways_first: bool = False) -> list[Placed]:
    """The person's region first (then, if asked, its pathways before its services), and
    what they may use before what is for other communes' residents; stable, so the search's
    order holds within each group."""
    return sorted(found, key=lambda p: (p.elsewhere is not None, p.outside,
                                        pathways_first and p.hit.kind != "pathway"))


def choices(kiosk: str) -> tuple[list[str], list[str], str | None]:
    """The picker's communes after the kiosk's own: its region's, then the other region's
    (and that region's slug, for its heading)."""
    region = communes.region(kiosk)
    own = [c for c in communes.COMMUNES if communes.region(c) == region and c != kiosk]
    other = [c for c in communes.COMMUNES if communes.region(c) != region]
    return own, other, communes.region(other[0]) if other else None
