"""Who is asking: the authenticated caller as a plain value (no HTTP, no token library).

Pure so that access rules and command handlers can take it without importing the web layer.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from shared.domain import Forbidden
from shared.envelope import Actor
from shared.vocabulary import Role


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    agency: str

    @property
    def actor(self) -> Actor:
        return Actor(id=self.subject, role=self.role.value)

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles


SYSTEM = Principal(subject="system", role=Role.SERVICE, agency="system")


def require_role(principal: Principal, roles: Collection[Role]) -> None:
    """The one role check every service's access rules start from."""
    if principal.role not in roles:
        raise Forbidden(f"role {principal.role} may not do this")
