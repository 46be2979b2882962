"""CTEs made once per key and then shared by every statement that names them, whichever
thread asks first: a statement may reach one set by two paths (an organization's members,
through its schedules and through its appointments), and it compiles only if both are the same
object, since two different CTEs may not share a name."""

import threading
from collections.abc import Callable
from functools import wraps

from sqlalchemy import CTE

_MAKING = threading.RLock()  # re-entrant: one set is made from others


def made_once(make: Callable[[str], CTE]) -> Callable[[str], CTE]:
    """make(key), made on first use and kept for the process's life. Never evicted: a set
    dropped while another still refers to it would be made again, a second CTE of its name.
    The keys are organizations and practitioners, as many as the city has."""
    made: dict[str, CTE] = {}

    @wraps(make)
    def shared(key: str) -> CTE:
        found = made.get(key)
        if found is not None:
            return found
        with _MAKING:
            if key not in made:
                made[key] = make(key)
            return made[key]

    return shared
