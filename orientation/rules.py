"""Pathway invariants: what makes a pathway safe to hand to someone, as plain domain rules.

A pathway promises that following its steps ends with a named human who can be reached. These
rules say when that promise holds. They read no database: the caller (the store, before each
write and in ``check_all``) loads the services and contacts the pathway names and passes them
in, so the rules can be read, tested and reused without SQLite. A broken rule raises
:class:`~orientation.errors.PathwayInvalid` with a reason code from ``errors.PATHWAY_REASONS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING

from .errors import PathwayInvalid
from .models import Contact, Pathway, Service

if TYPE_CHECKING:  # only a type here: competence reads the store, rules never do
    from .competence import Referral


def validate_pathway(pathway: Pathway, services: Mapping[str, Service],
                     contacts: Mapping[str, Contact], *, today: dt.date) -> None:
    """Raise PathwayInvalid for the first broken invariant, in step order.

    ``services`` and ``contacts`` map ids to the records the pathway names (steps' services,
    steps' contacts and their substitutes); an id missing from them does not exist.

    - every step's service and contact exist and are active (and the location, if named, is
      one of the service's places);
    - no step sends back to a service of an earlier step (no loops);
    - the last step names a human reachable by a public phone, or at walk-in hours;
    - every current or future absence of a referenced contact names an active substitute.
    """
    label = pathway.need
    if not pathway.steps:
        raise PathwayInvalid(label, None, "no-steps")
    seen: dict[str, int] = {}
    for n, step in enumerate(pathway.steps, start=1):
        service = services.get(step.service_id)
        if service is None:
            raise PathwayInvalid(label, n, "service-missing", service=step.service_id)
        if service.status != "active":
            raise PathwayInvalid(label, n, "service-inactive", service=service.name)
        if step.service_id in seen:
            raise PathwayInvalid(label, n, "sends-back", service=service.name,
                                 earlier=seen[step.service_id])
        seen[step.service_id] = n
        if step.location_id is not None and step.location_id not in service.location_ids:
            raise PathwayInvalid(label, n, "location-elsewhere", location=step.location_id,
                                 service=service.name)
        contact = contacts.get(step.contact_id)
        if contact is None:
            raise PathwayInvalid(label, n, "contact-missing", contact=step.contact_id)
        if contact.status != "active":
            raise PathwayInvalid(label, n, "contact-inactive", contact=contact.name)
        for absence in contact.absences:
            if absence.date_to < today:
                continue  # a past absence strands no one
            if absence.substitute_id is None:
                raise PathwayInvalid(label, n, "contact-absent", contact=contact.name,
                                     date_from=absence.date_from, date_to=absence.date_to)
            substitute = contacts.get(absence.substitute_id)
            if substitute is None:
                raise PathwayInvalid(label, n, "substitute-missing",
                                     substitute=absence.substitute_id, contact=contact.name)
            if substitute.status != "active":
                raise PathwayInvalid(label, n, "substitute-inactive", substitute=substitute.name)
        if n == len(pathway.steps):
            walk_in = any(s.attending_type == "walk_in" for s in service.schedules)
            if not contact.public_phones() and not walk_in:
                raise PathwayInvalid(label, n, "unreachable-end", contact=contact.name,
                                     service=service.name)


def _reachable(contact: Contact, service: Service) -> bool:
    return bool(contact.public_phones()) or any(
        s.attending_type == "walk_in" for s in service.schedules)


def validate_roles(pathway: Pathway,
                   referrals: Mapping[tuple[str, str], Referral | None]) -> None:
    """Raise PathwayInvalid unless every step with a role can send every person it is for to
    the right place.

    ``referrals`` maps (role, commune) to where the role sends a person of that commune (see
    ``competence.referrals``), for every commune the pathway covers. In each, the role must
    resolve to an active service with an active named contact, reachable by a public phone or
    at walk-in hours: a person sent there on their own must find someone. (The step's default
    service, shown when the commune is unknown, is checked like any step's.)
    """
    label = pathway.need
    for n, step in enumerate(pathway.steps, start=1):
        if step.role is None:
            continue
        for (role, commune), found in referrals.items():
            if role == step.role and (found is None or found.contact is None
                                      or not _reachable(found.contact, found.service)):
                raise PathwayInvalid(label, n, "role-unresolved", role=role, commune=commune)


def substitute_ids(pathway: Pathway, contacts: Mapping[str, Contact], *,
                           today: dt.date) -> set[str]:
    """The substitutes :func:`validate_pathway` will look up, given the steps' contacts: the
    caller loads these too (absences that ended before ``today`` are not checked)."""
    return {
        absence.substitute_id
        for step in pathway.steps if (contact := contacts.get(step.contact_id)) is not None
        for absence in contact.absences
        if absence.substitute_id is not None and absence.date_to >= today
    }
