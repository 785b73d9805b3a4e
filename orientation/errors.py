"""Domain errors: plain exceptions, translated at each edge (API problem+json, kiosk page, CLI)."""

from __future__ import annotations


class OrientationError(Exception):
    """Base class for every error the domain raises on purpose."""


class NotFound(OrientationError):
    def __init__(self, entity: str, entity_id: str):
        self.entity = entity
        self.entity_id = entity_id
        super().__init__(f"{entity} {entity_id!r} not found")


class InvalidData(OrientationError):
    """Data that breaks a rule of the directory; ``field`` names what is wrong when known."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


class PathwayInvalid(InvalidData):
    """A pathway breaks one of its invariants; names the pathway and the step (1-based)."""

    def __init__(self, pathway: str, step: int | None, message: str):
        self.pathway = pathway
        self.step = step
        where = f"pathway {pathway!r}" + (f", step {step}" if step else "")
        super().__init__(f"{where}: {message}", field=f"steps[{step - 1}]" if step else None)


class Conflict(OrientationError):
    """The write would break a reference held by another record (e.g. a pathway step)."""


class PermissionDenied(OrientationError):
    pass
