"""Who is acting: an authenticated account, or the system itself (CLI, sweepers, fixtures).

The principal is a small frozen value passed into every use case, so authorisation and audit
never depend on a web framework's request object.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Forbidden
from core.models import Role


@dataclass(frozen=True, slots=True)
class Principal:
    account_id: int | None
    name: str
    role: Role | None  # None means the system acting on its own behalf
    agency_id: int | None
    request_id: str | None = None

    @property
    def is_system(self) -> bool:
        return self.role is None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN or self.is_system

    @property
    def role_name(self) -> str:
        return "system" if self.role is None else self.role.value

    def require_role(self, *roles: Role) -> None:
        """Refuse unless the caller holds one of the roles (admins and the system always pass)."""
        if self.is_admin:
            return
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs one of the roles: {allowed}")


SYSTEM = Principal(account_id=None, name="system", role=None, agency_id=None)
