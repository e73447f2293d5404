"""Event contracts of all services. Importing this package registers every event type."""

from shared.contracts import audit, casework, intake, placement, platform, reporting
from shared.contracts.base import DomainEvent, EventRegistry, registry

__all__ = [
    "DomainEvent",
    "EventRegistry",
    "audit",
    "casework",
    "intake",
    "placement",
    "platform",
    "registry",
    "reporting",
]
