"""Domain errors: plain exceptions with a stable code, translated at each edge.

Each class carries the HTTP status and problem+json ``code`` the edges answer with, in one
table (:data:`ERROR_TABLE`), used alike by the API (problem+json), the kiosk and the staff pages
(a message in the reader's language) and the CLI (exit code). Nothing here imports a web
framework: a status is just a number.

A message is built from a template and parameters (``reason`` and ``params``), never parsed
back: the English template is the str() of the error (what the API and logs show); an edge
that speaks another language looks ``reason`` up in its own templates and formats the same
``params``.
"""

from __future__ import annotations

from typing import Any


class OrientationError(Exception):
    """Base class for every error the domain raises on purpose."""

    #: problem+json code and HTTP status the edges use (see ERROR_TABLE).
    code = "invalid"
    status = 400


class NotFound(OrientationError):
    code = "not-found"
    status = 404

    def __init__(self, entity: str, entity_id: str):
        self.entity = entity
        self.entity_id = entity_id
        super().__init__(f"{entity} {entity_id!r} not found")


class InvalidData(OrientationError):
    """Data that breaks a rule of the directory; ``field`` names what is wrong when known."""

    code = "invalid-data"
    status = 422

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


#: Why a pathway is refused: reason -> English template over the error's ``params``. The staff
#: editor has a French template for each reason (kiosk/staff/edit.py, PATHWAY_MESSAGES) filled
#: with the same params: a refusal is never parsed back from its English text.
PATHWAY_REASONS: dict[str, str] = {
    "no-steps": "a pathway needs at least one step",
    "service-missing": "service {service!r} does not exist",
    "service-inactive": "service {service!r} is not active",
    "sends-back": "sends back to {service!r}, already step {earlier}",
    "location-elsewhere": "location {location!r} is not a place of {service!r}",
    "contact-missing": "contact {contact!r} does not exist",
    "contact-inactive": "contact {contact!r} is not active",
    "contact-absent": ("contact {contact!r} is absent from {date_from} to {date_to} "
                       "and has no substitute"),
    "substitute-missing": "substitute {substitute!r} of {contact!r} does not exist",
    "substitute-inactive": "substitute {substitute!r} is not active",
    "unreachable-end": ("the last step must end with a person reachable by phone or at "
                        "walk-in hours: {contact!r} has no public phone and {service!r} "
                        "has no walk-in hours"),
    "role-unresolved": ("no active service with a named contact reachable by phone or at "
                        "walk-in hours acts as {role!r} for {commune}, a commune the pathway "
                        "covers"),
}


class PathwayInvalid(InvalidData):
    """A pathway breaks one of its invariants; names the pathway and the step (1-based).

    ``reason`` is a key of :data:`PATHWAY_REASONS`, ``params`` fills its template.
    """

    code = "pathway-invalid"

    def __init__(self, pathway: str, step: int | None, reason: str, **params: Any):
        self.pathway = pathway
        self.step = step
        self.reason = reason
        self.params = params
        self.message = PATHWAY_REASONS[reason].format(**params)
        where = f"pathway {pathway!r}" + (f", step {step}" if step else "")
        super().__init__(f"{where}: {self.message}",
                         field=f"steps[{step - 1}]" if step else None)


class Conflict(OrientationError):
    """The write would break a reference held by another record (e.g. a pathway step)."""

    code = "conflict"
    status = 409


class PermissionDenied(OrientationError):
    code = "forbidden"
    status = 403


#: The one table of domain errors: class -> (HTTP status, problem+json code). Most specific
#: first; :func:`describe` walks it. Edges add only what is theirs (401 when no credentials
#: were sent at all, the kiosk's plain-words page).
ERROR_TABLE: tuple[tuple[type[OrientationError], int, str], ...] = tuple(
    (cls, cls.status, cls.code)
    for cls in (PathwayInvalid, InvalidData, NotFound, Conflict, PermissionDenied,
                OrientationError)
)


def describe(exc: OrientationError) -> tuple[int, str]:
    """(HTTP status, problem code) of a domain error: its class's own, so an error defined
    elsewhere (the voice, a backup, a setting) says its status once, where it is defined."""
    return exc.status, exc.code
