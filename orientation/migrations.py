"""The database schema, as registered migrations (applied in order, once each).

Nested value objects (phones, address, access rules, schedules…) are JSON columns of their
aggregate's row; links between aggregates are real tables with foreign keys, so SQLite itself
refuses a dangling reference. Never edit a migration that has shipped: add a new one.
"""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("orientation")


@migrations()
def m001_directory(db: Database) -> None:
    db["organizations"].create(
        {
            "id": str, "name": str, "alternate_name": str, "kind": str, "description": str,
            "website": str, "email": str, "phones": str, "status": str, "source_id": str,
        },
        pk="id",
        not_null={"name", "description"},
    )
    db["locations"].create(
        {
            "id": str, "organization_id": str, "name": str, "description": str,
            "address": str, "latitude": float, "longitude": float, "transport": str,
            "accessibility": str, "confidential": int, "phones": str, "source_id": str,
        },
        pk="id",
        foreign_keys=[("organization_id", "organizations", "id")],
        not_null={"name", "organization_id"},
    )
    db["contacts"].create(
        {
            "id": str, "organization_id": str, "civility": str, "given_name": str,
            "family_name": str, "role": str, "phones": str, "email": str, "languages": str,
            "availability": str, "absences": str, "status": str, "assured_date": str,
            "assured_by": str, "source_id": str,
        },
        pk="id",
        foreign_keys=[("organization_id", "organizations", "id")],
        not_null={"organization_id", "given_name", "family_name"},
    )
    db["taxonomy_terms"].create(
        {
            "id": str, "code": str, "parent_id": str, "labels": str, "descriptions": str,
            "pictogram": str, "position": int,
        },
        pk="id",
        foreign_keys=[("parent_id", "taxonomy_terms", "id")],
        not_null={"code", "labels"},
    )
    db["taxonomy_terms"].create_index(["code"], unique=True)
    db["services"].create(
        {
            "id": str, "organization_id": str, "name": str, "alternate_name": str,
            "description": str, "url": str, "email": str, "phones": str, "keywords": str,
            "languages": str, "interpretation": str, "access": str, "digital": str,
            "schedules": str, "closures": str, "open_on_public_holidays": int,
            "translations": str, "status": str, "assured_date": str, "assured_by": str,
            "source_id": str,
        },
        pk="id",
        foreign_keys=[("organization_id", "organizations", "id")],
        not_null={"organization_id", "name"},
    )
    db["service_at_locations"].create(
        {"id": str, "service_id": str, "location_id": str, "position": int},
        pk="id",
        foreign_keys=[("service_id", "services", "id"), ("location_id", "locations", "id")],
    )
    db["service_at_locations"].create_index(["service_id", "location_id"], unique=True)
    db["service_at_locations"].create_index(["location_id"])
    db["service_contacts"].create(
        {"service_id": str, "contact_id": str, "position": int},
        pk=("service_id", "contact_id"),
        foreign_keys=[("service_id", "services", "id"), ("contact_id", "contacts", "id")],
    )
    db["service_contacts"].create_index(["contact_id"])
    db["service_terms"].create(
        {"service_id": str, "term_id": str, "position": int},
        pk=("service_id", "term_id"),
        foreign_keys=[("service_id", "services", "id"), ("term_id", "taxonomy_terms", "id")],
    )
    db["service_terms"].create_index(["term_id"])
    db["pathways"].create(
        {
            "id": str, "need": str, "summary": str, "region": str, "translations": str,
            "status": str,
        },
        pk="id",
        not_null={"need"},
    )
    db["pathway_terms"].create(
        {"pathway_id": str, "term_id": str, "position": int},
        pk=("pathway_id", "term_id"),
        foreign_keys=[("pathway_id", "pathways", "id"), ("term_id", "taxonomy_terms", "id")],
    )
    db["pathway_steps"].create(
        {
            "pathway_id": str, "position": int, "service_id": str, "location_id": str,
            "contact_id": str, "action": str, "bring": str, "fallback": str,
        },
        pk=("pathway_id", "position"),
        foreign_keys=[
            ("pathway_id", "pathways", "id"),
            ("service_id", "services", "id"),
            ("location_id", "locations", "id"),
            ("contact_id", "contacts", "id"),
        ],
    )
    db["pathway_steps"].create_index(["service_id"])
    db["pathway_steps"].create_index(["contact_id"])
    # The audit trail: one row per changed field. Its id is also the directory's "generation",
    # which the search index follows to stay fresh.
    db["audit"].create(
        {
            "id": int, "at": str, "actor": str, "action": str, "entity": str,
            "entity_id": str, "field": str, "before": str, "after": str,
        },
        pk="id",
        not_null={"at", "actor", "action", "entity", "entity_id"},
    )
    db["audit"].create_index(["entity", "entity_id"])


@migrations()
def m020_api_keys(db: Database) -> None:
    # Only a hash of each key is kept: the secret is shown once, when it is created. No foreign
    # key to organizations, so deleting an organisation is never blocked by an old key; the
    # organisation is checked when the key is created and when it is used.
    db["api_keys"].create(
        {
            "id": str, "name": str, "role": str, "organization_id": str, "prefix": str,
            "hash": str, "created_at": str, "revoked_at": str,
        },
        pk="id",
        not_null={"name", "role", "prefix", "hash", "created_at"},
    )
    db["api_keys"].create_index(["hash"], unique=True)
