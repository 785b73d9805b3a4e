"""The only package that touches the database: every SQL statement and every ``db[...]`` call.

Plain functions over a sqlite-utils ``Database``. Every write is one transaction that also
records the change in the ``audit`` table (who, when, entity, field, before, after); a write that
would break a rule (a dangling reference, a pathway invariant) raises a domain error and leaves
the database exactly as it was.

Callers use the package as one namespace (``from orientation import store``;
``store.get_service(db, id)``); each module holds one responsibility:

- ``connection``: connect, ``transaction()`` (BEGIN IMMEDIATE), rows <-> Structs;
- ``migrations``: the schema, as registered migrations;
- ``audit``: the audit trail, the generation number and what changed since;
- ``directory``: reading the six aggregates and the questions asked across them;
- ``writes``: saving and deleting them, with their checks (pathway rules: ``orientation.rules``);
- ``accounts``: users, sessions, login failures, API keys, app secrets;
- ``helpdesk``: kiosk help requests and desk duty;
- ``followup``: problem reports, issued slips, referral outcomes;
- ``unmet``: the weekly counters of unmet searches;
- ``limits``: the rate counters every worker shares;
- ``flags``: directory-wide flags (sample data loaded) and imported source categories.
- ``suggestions``: verification links e-mailed to organisations, suggested edits;
- ``capacity``: the latest capacity figure per service and unit ("3 places ce soir");
- ``alerts``: the staff's saved searches, the digests e-mailed about them;
- ``sync``: when each source directory was last copied, local edits since (``orientation.sync``);
- ``duplicates``: likely duplicate pairs, merges and their source ids.
"""

from __future__ import annotations

from ..models import ApiKey  # noqa: F401 - re-exported: store.ApiKey is what it reads
from .accounts import (
    add_login_failure,
    app_secret,
    clear_login_failures,
    count_login_failures,
    delete_session,
    get_session_row,
    get_user_row,
    insert_api_key,
    insert_session,
    insert_user,
    list_api_keys,
    list_user_rows,
    live_api_key,
    revoke_api_key,
    update_user,
)
from .capacity import (
    capacity_link_by_hash,
    capacity_links_of,
    capacity_rows,
    delete_capacity,
    insert_capacity_link,
    put_capacity,
    revoke_capacity_link,
    touch_capacity_link,
)
from .alerts import (
    alert_mail_rows,
    delete_saved_search,
    insert_saved_search,
    record_alert_mail,
    saved_search_row,
    saved_search_rows,
    service_changes,
    service_names,
    services_changed_since,
    update_saved_search,
)
from .audit import audit_origin, changes_since, generation, history, last_modified
from .connection import connect, row_by_id, transaction
from .directory import (
    ENTITIES,
    count_services,
    counts,
    exists,
    get,
    get_contact,
    get_contacts,
    get_location,
    get_locations,
    get_organization,
    get_organizations,
    get_pathway,
    get_pathways,
    get_service,
    get_services,
    get_term,
    get_terms,
    get_term_by_code,
    id_by_source,
    is_empty,
    iter_services,
    list_contacts,
    list_locations,
    list_organizations,
    list_pathways,
    list_services,
    list_terms,
    locations_by_service,
    pathway_steps_using,
    pathways_using,
    service_at_location_id,
    service_at_location_link,
    service_ids,
    services_at_location,
    Reach,
    services_for_contact,
    services_reach,
    snapshot,
    stale_records,
)
from .duplicates import (
    add_merged_source,
    decide_duplicate,
    duplicate_rows,
    get_duplicate,
    record_merge,
    save_candidates,
)
from .flags import (
    SAMPLE_DATA,
    get_flag,
    record_source_categories,
    sample_data,
    set_flag,
    source_categories,
)
from .followup import (
    add_issued_slip,
    close_problem_report,
    get_problem_report,
    insert_problem_report,
    insert_referral_outcome,
    issued_slip_rows,
    list_problem_reports,
    pathway_outcome_counts,
    problem_report_counts,
    set_problem_report_kind,
    referral_outcome_rows,
)
from .helpdesk import (
    desk_duty_seen_since,
    end_desk_duty,
    get_help_request,
    insert_help_request,
    list_help_requests,
    on_desk_duty,
    touch_desk_duty,
    update_help_request,
)
from .limits import hit_counter
from .suggestions import (
    close_suggestion,
    delete_link,
    get_suggestion,
    insert_link,
    insert_suggestions,
    link_by_hash,
    link_rows,
    list_suggestions,
    use_link,
)
from .sync import edited_locally, last_sync, record_sync, synced_ids, written_by
from .unmet import add_unmet_search, unmet_search_counts
from .writes import (
    bulk_create,
    check_all,
    check_save,
    delete,
    mark_verified,
    save,
    save_contact,
    save_location,
    save_organization,
    save_pathway,
    save_service,
    save_term,
    validate_pathway,
)
