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
    def is_platform_admin(self) -> bool:
        """The hotline's operator, or the system: may see and do everything, on every agency."""
        return self.role is Role.PLATFORM_ADMIN or self.is_system

    @property
    def is_agency_admin(self) -> bool:
        """An admin of its own agency only; outside it, like any other role."""
        return self.role is Role.AGENCY_ADMIN

    def administers(self, agency_id: int | None) -> bool:
        """May administer agency `agency_id`: a platform admin any, an agency admin its own."""
        if self.is_platform_admin:
            return True
        return self.is_agency_admin and agency_id is not None and agency_id == self.agency_id

    @property
    def role_name(self) -> str:
        return "system" if self.role is None else self.role.value

    def require_role(self, *roles: Role) -> None:
        """Refuse unless the caller holds one of the roles.

        Platform admins, agency admins and the system always pass: an agency admin acts in its
        own agency as any of its staff would, and the object-level checks (another agency's
        case, hold or account is not found) keep it there. Platform-wide operations use
        `require_platform_admin` instead.
        """
        if self.is_platform_admin or self.is_agency_admin:
            return
        if self.role not in roles:
            allowed = ", ".join(r.value for r in roles)
            raise Forbidden(f"this action needs one of the roles: {allowed}")

    def require_platform_admin(self) -> None:
        """Refuse unless the caller is a platform admin (or the system)."""
        if not self.is_platform_admin:
            raise Forbidden("this action needs the role: platform_admin")


SYSTEM = Principal(account_id=None, name="system", role=None, agency_id=None)
