"""The hourly clean-up of identity's short-lived rows: codes a day past their minutes, quota
windows that ended, and sign-ins sent to a provider that never came back."""

from datetime import datetime

from sqlalchemy import Connection

from medsvc.identity import codes, oidc_links

BATCH = codes.FORGET_BATCH


def forget_old(session: Connection, now: datetime) -> int:
    return codes.forget_old(session, now) + oidc_links.forget_old(session, now)
