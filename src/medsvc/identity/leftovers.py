"""The hourly clean-up of identity's short-lived rows: codes a day past their minutes, quota
windows that ended, sign-ins sent to a provider that never came back, patient pickers nobody
answered, and sign-ins remembered past their hours."""

from datetime import datetime

from sqlalchemy import Connection

from medsvc.identity import codes, oidc_links
from medsvc.security import choose, signin_memory

BATCH = codes.FORGET_BATCH


def forget_old(session: Connection, now: datetime) -> int:
    forgotten = codes.forget_old(session, now) + oidc_links.forget_old(session, now)
    return forgotten + choose.forget_old(session, now) + signin_memory.forget_old(session, now)
