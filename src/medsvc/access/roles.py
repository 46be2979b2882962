"""The role a caller writes as, read from its AuthContext: the platform, a citizen, a
practitioner, a hospital system or an administrator; anyone else writes nothing."""

from enum import StrEnum

from medsvc.security.context import AuthContext


class Role(StrEnum):
    PLATFORM = "platform"
    CITIZEN = "citizen"
    PRACTITIONER = "practitioner"
    HOSPITAL = "hospital system"
    ADMIN = "administrator"
    UNKNOWN = "caller of no known role"


def role_of(ctx: AuthContext) -> Role:
    """The narrowest role the context claims: a token naming a patient acts as that citizen
    whatever else it carries."""
    if ctx.unrestricted:
        return Role.PLATFORM
    if ctx.patient or ctx.role == "patient":
        return Role.CITIZEN
    if ctx.practitioner or ctx.role == "practitioner":
        return Role.PRACTITIONER
    if ctx.role == "admin":
        return Role.ADMIN
    if ctx.organization and ctx.role is None:
        return Role.HOSPITAL
    return Role.UNKNOWN
