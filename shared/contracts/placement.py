"""Events of the placement service (topic ``placement.events``), Betriebsakquise."""

from __future__ import annotations

from typing import ClassVar

from shared.contracts.base import DomainEvent


class PlacementEvent(DomainEvent):
    service: ClassVar[str] = "placement"
