"""The database schema, as registered migrations (applied in order, once each).

Nested value objects (phones, address, access rules, schedules…) are JSON columns of their
aggregate's row; links between aggregates are real tables with foreign keys, so SQLite itself
refuses a dangling reference. Never edit a migration that has shipped: add a new one.

It lives in the store package because the schema belongs to the only code that runs SQL;
``connection.connect`` applies it.
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


@migrations()
def m030_kiosk_help_requests(db: Database) -> None:
    # "Parler à une personne": an anonymous request from a kiosk, nothing about the person.
    db["help_requests"].create(
        {
            "id": str, "kiosk": str, "created_at": str, "status": str,
            "acknowledged_at": str, "acknowledged_by": str, "resolved_at": str,
        },
        pk="id",
        not_null={"kiosk", "created_at", "status"},
    )
    db["help_requests"].create_index(["status"])
    # Who keeps the desk page open right now: a staff member is on duty while their desk page
    # keeps polling; the kiosk never sends a request to an empty desk.
    db["desk_duty"].create(
        {"user_id": str, "since": str, "last_seen": str},
        pk="user_id",
        not_null={"since", "last_seen"},
    )


@migrations()
def m040_staff_users(db: Database) -> None:
    db["users"].create(
        {
            "id": str, "username": str, "display_name": str, "role": str,
            "organization_id": str, "password_hash": str, "active": int,
            "created_at": str, "last_login_at": str,
        },
        pk="id",
        not_null={"username", "display_name", "role", "password_hash", "active", "created_at"},
    )
    db["users"].create_index(["username"], unique=True)
    # Server-side sessions, so logging out or disabling a user ends them at once. Only a hash
    # of the cookie's token is stored.
    db["sessions"].create(
        {
            "id": str, "token_hash": str, "user_id": str, "csrf": str, "created_at": str,
            "expires_at": str,
        },
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"token_hash", "user_id", "csrf", "created_at", "expires_at"},
    )
    db["sessions"].create_index(["token_hash"], unique=True)
    # Secrets the server generates itself on first use (the cookie-signing key).
    db["app_secrets"].create({"name": str, "value": str}, pk="name", not_null={"value"})


@migrations()
def m050_unmet_searches(db: Database) -> None:
    # Searches that found nothing or almost nothing, aggregated per ISO week: no time of day,
    # no place, no session — only the cleaned words and how often they were seen.
    db["unmet_searches"].create(
        {"week": str, "channel": str, "terms": str, "zero": int, "low": int},
        pk=("week", "channel", "terms"),
        not_null={"zero", "low"},
    )


@migrations()
def m060_staff_console(db: Database) -> None:
    # Failed staff logins, to slow down password guessing. The key is a hash of the username
    # or of the address, never the address itself; rows older than the window are purged.
    db["login_failures"].create({"key": str, "at": str}, not_null={"key", "at"})
    db["login_failures"].create_index(["key", "at"])
    # "Cette information est fausse" / dead ends, from the kiosk (one tap) and the staff
    # console. Nothing about who reported: the channel, the day and what is wrong.
    db["problem_reports"].create(
        {
            "id": str, "service_id": str, "organization_id": str, "kind": str, "note": str,
            "channel": str, "created_at": str, "status": str, "closed_at": str,
            "closed_by": str,
        },
        pk="id",
        # No foreign key: deleting a service is never blocked by old reports (their lists join
        # on services, so a deleted service's reports simply disappear from the queue).
        not_null={"service_id", "organization_id", "kind", "channel", "created_at", "status"},
    )
    db["problem_reports"].create_index(["organization_id", "status"])
    db["problem_reports"].create_index(["service_id"])
    # Slips handed out, counted per reference code, day and channel: what the slip pointed to,
    # never who took it. A code is derived from the slip's content (same steps, same code).
    db["issued_slips"].create(
        {"code": str, "day": str, "channel": str, "pathway_id": str, "services": str,
         "count": int},
        pk=("code", "day", "channel"),
        not_null={"services", "count"},
    )
    db["issued_slips"].create_index(["pathway_id"])
    # What became of a referral, marked by the receiving service from the slip's code alone.
    db["referral_outcomes"].create(
        {
            "id": str, "code": str, "day": str, "outcome": str, "reason": str,
            "pathway_id": str, "organization_id": str,
        },
        pk="id",
        not_null={"code", "day", "outcome"},
    )
    db["referral_outcomes"].create_index(["code"])
    db["referral_outcomes"].create_index(["pathway_id"])


@migrations()
def m070_rate_counters(db: Database) -> None:
    # Request counters shared by every worker process (and every app on the same file): one
    # row per bucket and fixed window, bumped by one atomic upsert. A bucket names what is
    # counted and a hash of who (an API key's id, or a hash of an address), never the address
    # itself; ``expires`` lets any hit prune the windows that are over.
    db["rate_counters"].create(
        {"bucket": str, "window_start": int, "expires": int, "count": int},
        pk=("bucket", "window_start"),
        not_null={"expires", "count"},
    )
    db["rate_counters"].create_index(["expires"])


@migrations()
def m071_service_areas_and_roles(db: Database) -> None:
    # Where a service is competent (HSDS service_areas) and the roles it fills ("cpas",
    # "emploi", "baj"), as JSON columns of the service like its other value objects; a pathway
    # step may name a role, resolved from the person's commune, and a pathway may name the
    # communes it covers. Old rows read as "no areas, no role": nothing changes for them.
    for table, column in (("services", "areas"), ("services", "acts_as"),
                          ("pathways", "communes"), ("pathway_steps", "role")):
        if column not in db[table].columns_dict:
            db[table].add_column(column, str)


@migrations()
def m080_account_language(db: Database) -> None:
    # The staff console's language, chosen by each staff member and remembered with the
    # account (NULL: follow the browser's Accept-Language).
    if "language" not in db["users"].columns_dict:
        db["users"].add_column("language", str)


@migrations()
def m083_directory_flags_and_categories(db: Database) -> None:
    # Facts about the directory as a whole, by name ("sample_data": the seed's fictional
    # directory is loaded, so the kiosk says "Données d'exemple"). One row per flag.
    db["directory_flags"].create({"name": str, "value": str, "set_at": str, "set_by": str},
                                 pk="name", not_null={"value"})
    # The categories each imported source used, with how many services carried them, so that
    # `orientation check` can list the ones the category map sends to no need.
    db["source_categories"].create(
        {"source": str, "scheme": str, "code": str, "name": str, "services": int,
         "seen_at": str},
        pk=("source", "scheme", "code", "name"), not_null={"services"},
    )
    # A database seeded before the flag existed: its seed wrote organisations as "seed".
    seeded = db.execute("select 1 from audit where actor = 'seed' and entity = 'organization' "
                        "limit 1").fetchone()
    if seeded:
        db.execute("insert into directory_flags (name, value, set_at, set_by) values "
                   "('sample_data', 'seed', datetime('now'), 'migration')")


@migrations()
def m084_verification_by_organisations(db: Database) -> None:
    # Organisations check their own records from an e-mailed link (orientation.reminders):
    # their data contact, its language, whether an admin trusts their changes; and how often
    # each service must be checked.
    for table, column, kind in (("organizations", "data_contact_email", str),
                                ("organizations", "data_contact_lang", str),
                                ("organizations", "trusted", int),
                                ("services", "update_months", int)):
        if column not in db[table].columns_dict:
            db[table].add_column(column, kind)
    # One row per e-mailed link: only a hash of its token is kept, so a copy of the database
    # cannot be used to answer for an organisation. ``used_at`` makes a link single-use.
    db["verify_links"].create(
        {"id": str, "organization_id": str, "token_hash": str, "created_at": str,
         "expires_at": str, "used_at": str, "answer": str, "escalated": int},
        pk="id",
        not_null={"organization_id", "token_hash", "created_at", "expires_at"},
    )
    db["verify_links"].create_index(["token_hash"], unique=True)
    db["verify_links"].create_index(["organization_id", "created_at"])
    # Suggested edits, one per field: from an organisation's link, later from the kiosk and
    # the staff. before/after are JSON (the stored value, the proposed one).
    db["suggestions"].create(
        {"id": str, "organization_id": str, "entity": str, "entity_id": str, "field": str,
         "before": str, "after": str, "source": str, "link_id": str, "created_at": str,
         "status": str, "closed_at": str, "closed_by": str},
        pk="id",
        not_null={"organization_id", "entity", "entity_id", "field", "source",
                  "created_at", "status"},
    )
    db["suggestions"].create_index(["organization_id", "status"])


@migrations()
def m089_services_by_status_and_name(db: Database) -> None:
    # Listings (HSDS /services, the staff's lists) take the ids of the services of a status in
    # name order: without an index SQLite read every service row (JSON columns and all) and
    # sorted them, 63 ms at 10,000 services; this index answers it alone (covering, ~11 ms),
    # and counts a status without reading a row.
    db["services"].create_index(["status", "name", "id"], index_name="idx_services_status_name",
                                if_not_exists=True)
    db["services"].create_index(["organization_id"], if_not_exists=True)


@migrations()
def m091_service_capacities(db: Database) -> None:
    # "Places disponibles ce soir" (HSDS 3.1 service_capacity): the latest figure per service
    # and unit, with when and by whom it was given. Its history is in the audit trail.
    db["service_capacities"].create(
        {"service_id": str, "unit": str, "available": int, "maximum": int,
         "updated_at": str, "updated_by": str},
        pk=("service_id", "unit"),
        not_null={"service_id", "unit", "available", "updated_at", "updated_by"},
        foreign_keys=[("service_id", "services", "id")],
    )
    # A lasting link per organisation to give tonight's counts from a phone, without an
    # account (the night staff of a shelter): only the hash of its token is kept.
    db["capacity_links"].create(
        {"id": str, "organization_id": str, "token_hash": str, "created_at": str,
         "created_by": str, "expires_at": str, "revoked_at": str, "used_at": str},
        pk="id", not_null={"organization_id", "token_hash", "created_at", "expires_at"},
    )
    db["capacity_links"].create_index(["token_hash"], unique=True)


@migrations()
def m092_saved_searches(db: Database) -> None:
    # A social worker's saved searches (orientation.alerts): a label of their own, the query
    # and filters (directory criteria only, never a person), and where each one's alerts
    # stand. ``seen_*``: the audit generation and the matching services when the worker last
    # marked it seen; ``checked_*``: the unseen count for the badge, valid for one generation;
    # ``mailed_*``: the same for the daily e-mail, so a change is never mailed twice.
    db["saved_searches"].create(
        {"id": str, "user_id": str, "name": str, "query": str, "filters": str, "email": str,
         "created_at": str, "seen_generation": int, "seen_matches": str,
         "checked_generation": int, "unseen": int, "mailed_generation": int,
         "mailed_matches": str},
        pk="id",
        foreign_keys=[("user_id", "users", "id")],
        not_null={"user_id", "name", "query", "filters", "created_at", "seen_generation",
                  "seen_matches"},
    )
    db["saved_searches"].create_index(["user_id"])
    # Each digest e-mail sent: to whom, when, which searches and up to which generation (the
    # content itself is only directory facts and is not kept).
    db["alert_mails"].create(
        {"id": int, "user_id": str, "email": str, "sent_at": str, "searches": str,
         "changes": int, "generation": int},
        pk="id", not_null={"user_id", "email", "sent_at", "changes", "generation"},
    )
