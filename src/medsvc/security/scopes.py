"""Which interactions a caller's granted scopes allow (SMART App Launch scopes)."""

from medsvc.errors import Forbidden
from medsvc.security.context import AuthContext


def require(ctx: AuthContext, resource_type: str, interaction: str) -> None:
    """Raises 403 unless the context may perform the interaction on the type.

    The platform context (jobs, the CLI, open mode) may do everything; every other context
    is refused until it carries scopes granted by the authorization server.
    """
    if ctx.unrestricted:
        return
    raise Forbidden(f"The granted scopes do not allow {interaction} on {resource_type}")
