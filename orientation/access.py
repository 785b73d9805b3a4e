"""Who may see and change what: API keys, callers and the public view of records.

This is the policy layer above the store: it decides, and ``orientation.store`` keeps. Imports
run one way (access -> store -> models), so the store never needs to know how a key is made.

Roles (``models.ROLES``): anonymous callers read the public directory; ``staff`` also reads
staff-only phone lines; an ``editor`` writes the records of their own organisation; ``admin``
writes everything. Keys are random 256-bit secrets shown once; only their SHA-256 is stored (a
slow password hash adds nothing for a secret that long, and lookups stay one indexed query).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

import msgspec
from sqlite_utils import Database

from . import store
from .errors import InvalidData, NotFound, PermissionDenied
from .models import (
    ROLES,
    ApiKey,
    Contact,
    Location,
    Organization,
    Pathway,
    Phone,
    Role,
    Service,
)

#: Every key starts with this, so a leaked key is easy to recognise (and to grep for).
KEY_PREFIX = "ori_"


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who is asking: ``role`` None means an anonymous member of the public."""

    role: Role | None = None
    organization_id: str | None = None
    actor: str = "anonymous"

    @property
    def staff(self) -> bool:
        return self.role is not None

    def rank(self) -> int:
        return 0 if self.role is None else ROLES.index(self.role) + 1


ANONYMOUS = Caller()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_api_key(db: Database, *, name: str, role: str, organization_id: str | None,
                   actor: str) -> tuple[ApiKey, str]:
    """Create a key; returns (ApiKey, secret). The secret is not stored and cannot be shown
    again, only its hash is kept."""
    if not name.strip():
        raise InvalidData("a key needs the name of its owner", field="name")
    if role not in ROLES:
        raise InvalidData(f"role must be one of {', '.join(ROLES)}", field="role")
    if role == "editor" and not organization_id:
        raise InvalidData("an editor key needs an organisation", field="organization_id")
    secret = new_secret()
    key = store.insert_api_key(db, name=name.strip(), role=role,
                               organization_id=organization_id, prefix=secret[:10],
                               secret_hash=hash_secret(secret), actor=actor)
    return key, secret


def find_api_key(db: Database, secret: str) -> ApiKey | None:
    """The live (not revoked) key with this secret, or None."""
    return store.live_api_key(db, hash_secret(secret))


def caller_for(key: ApiKey) -> Caller:
    return Caller(role=key.role, organization_id=key.organization_id,
                  actor=f"{key.name} (key {key.prefix})")


def require_role(caller: Caller, role: Role) -> None:
    if caller.rank() < ROLES.index(role) + 1:
        raise PermissionDenied(f"this needs a key with the {role!r} role")


def check_write(caller: Caller, organization_ids: Iterable[str | None]) -> None:
    """Raise PermissionDenied unless ``caller`` may write records of all these organisations.

    Pass the organisation of the record before and after the change, so an editor can neither
    touch another organisation's record nor move one of theirs away.
    """
    if caller.role == "admin":
        return
    require_role(caller, "editor")
    for org_id in organization_ids:
        if org_id != caller.organization_id:
            raise PermissionDenied(
                "an editor key may only change records of its own organisation")


def public_phones(phones: list[Phone], caller: Caller) -> list[Phone]:
    return phones if caller.staff else [p for p in phones if p.visibility == "public"]


def view(record: msgspec.Struct, caller: Caller) -> msgspec.Struct:
    """The record as ``caller`` may see it: staff-only lines dropped for the public, and a
    confidential location reduced to its city (a shelter's address is never published)."""
    if isinstance(record, (Organization, Service, Contact, Location)):
        record = msgspec.structs.replace(record, phones=public_phones(record.phones, caller))
    if isinstance(record, Location) and record.confidential and not caller.staff:
        address = record.address and msgspec.structs.replace(
            record.address, street="", postal_code="")
        record = msgspec.structs.replace(record, address=address, latitude=None,
                                         longitude=None)
    if isinstance(record, Organization) and not caller.staff:
        # The data contact is for the reminders, not for the public to write to.
        record = msgspec.structs.replace(record, data_contact_email=None)
    if isinstance(record, Contact) and not caller.staff:
        # When someone is away the public needs the dates and the substitute, not the reason.
        record = msgspec.structs.replace(record, absences=[
            msgspec.structs.replace(a, reason=None) for a in record.absences])
    return record


def organizations_of(db, record: msgspec.Struct) -> list[str | None]:
    """The organisations a record belongs to, for permission checks: a pathway belongs to the
    organisations of its steps' services."""
    if isinstance(record, Organization):
        return [record.id]
    if isinstance(record, Pathway):
        orgs = []
        for step in record.steps:
            try:
                orgs.append(store.get_service(db, step.service_id).organization_id)
            except NotFound:
                pass  # an unknown service is reported by validation, with the step
        return orgs
    return [record.organization_id]


def links_of(record: msgspec.Struct | None) -> set[tuple[str, str]]:
    """The places and people a record points to, as (entity, id): a service's locations,
    schedule places and contacts, a pathway step's location and contact, a contact's
    substitutes."""
    found: set[tuple[str, str]] = set()
    if isinstance(record, Service):
        found |= {("location", i) for i in record.location_ids}
        found |= {("location", s.location_id) for s in record.schedules if s.location_id}
        found |= {("contact", i) for i in record.contact_ids}
    elif isinstance(record, Pathway):
        for step in record.steps:
            found.add(("contact", step.contact_id))
            if step.location_id:
                found.add(("location", step.location_id))
    elif isinstance(record, Contact):
        found |= {("contact", a.substitute_id) for a in record.absences if a.substitute_id}
    return found


def _check_links(db, caller: Caller, before: msgspec.Struct | None,
                 after: msgspec.Struct) -> None:
    """An editor may link only the places and people of their own organisation.

    Otherwise an editor of A could attach B's contacts and locations to A's services, publish
    them under A's name, and block B from deleting its own records (a record still in use
    cannot be deleted). Admins may link across organisations: a permanence held in a CPAS
    building is a real case, and an admin decides it with both sides. Only links the change
    adds are checked, so an editor can still edit a service that an admin linked that way.
    """
    for entity, record_id in sorted(links_of(after) - links_of(before)):
        try:
            owner = store.get(db, entity, record_id).organization_id
        except NotFound:
            continue  # an unknown id is reported by validation, with its field
        if owner != caller.organization_id:
            raise PermissionDenied(
                f"an editor key may only link places and contacts of its own organisation "
                f"({entity} {record_id} belongs to another one)")


def check_change(db, caller: Caller, before: msgspec.Struct | None,
                 after: msgspec.Struct | None) -> None:
    """Raise PermissionDenied unless ``caller`` may turn ``before`` into ``after`` (None:
    create or delete). Used by the API and the staff console alike."""
    if caller.role != "admin" and (before is None or after is None) \
            and isinstance(before or after, Organization):
        require_role(caller, "admin")  # creating or deleting organisations is for admins
    if caller.role != "admin" and isinstance(after, Organization) \
            and after.trusted != (before.trusted if isinstance(before, Organization) else False):
        # Trusted organisations' own changes skip the editors' queue: an admin decides that.
        require_role(caller, "admin")
    orgs: list[str | None] = []
    for record in (before, after):
        if record is not None:
            orgs += organizations_of(db, record)
    check_write(caller, orgs)
    if caller.role != "admin" and after is not None:
        _check_links(db, caller, before, after)


def may_change(db, caller: Caller, record: msgspec.Struct) -> bool:
    """Whether ``caller`` may edit this existing record (to show or hide an edit link)."""
    try:
        check_change(db, caller, record, record)
    except PermissionDenied:
        return False
    return True
