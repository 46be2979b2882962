"""The single time source: everything that needs 'now' asks here, so tests can pin it."""

from collections.abc import Callable
from datetime import UTC, datetime

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """The current time, timezone-aware UTC, truncated to milliseconds (FHIR instant precision)."""
    current = _source()
    return current.replace(microsecond=current.microsecond // 1000 * 1000)


def set_source(source: Callable[[], datetime]) -> None:
    global _source
    _source = source


def reset() -> None:
    set_source(lambda: datetime.now(UTC))


def utc(moment: datetime) -> datetime:
    """A moment read from the database, as timezone-aware UTC."""
    if moment.tzinfo is None:  # SQLite stores no zone; what it holds was written as UTC
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
