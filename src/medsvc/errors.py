"""The error tree (HTTP status + FHIR issue code) and the one OperationOutcome renderer."""

from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import exc


@dataclass(frozen=True)
class Issue:
    """One OperationOutcome.issue: what went wrong and, where known, which element."""

    diagnostics: str
    code: str = "processing"
    severity: str = "error"
    expression: tuple[str, ...] = ()

    def to_fhir(self) -> dict[str, Any]:
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


# An OperationOutcome names this many issues and counts the rest in one more: a body with a
# million bad elements gets an answer of a few kilobytes, not of hundreds of megabytes.
MAX_ISSUES = 100


def capped(issues: list[Issue], total: int | None = None) -> list[Issue]:
    """The first MAX_ISSUES issues, and one that counts the rest ("... and 999,900 more");
    total is how many there were, when only the first were made."""
    total = len(issues) if total is None else total
    if total <= MAX_ISSUES + 1 and len(issues) == total:
        return issues
    rest = total - MAX_ISSUES
    more = Issue(f"... and {rest:,} more issues", "informational", "information")
    return [*issues[:MAX_ISSUES], more]


class MedsvcError(Exception):
    """Base of every error that reaches a client; subclasses fix the status and issue code."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "exception"

    def __init__(
        self,
        diagnostics: str,
        *,
        expression: str | None = None,
        issues: list[Issue] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.issues = (
            capped(issues)
            if issues
            else [Issue(diagnostics, self.code, expression=(expression,) if expression else ())]
        )
        self.headers = headers or {}

    def outcome(self) -> dict[str, Any]:
        return operation_outcome(self.issues)


class Invalid(MedsvcError):
    status, code = 400, "invalid"


class Structure(Invalid):
    code = "structure"


class Unauthorized(MedsvcError):
    status, code = 401, "login"

    def __init__(self, diagnostics: str = "Authentication is required", **kw: Any):
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="medsvc"'})
        super().__init__(diagnostics, **kw)


class Forbidden(MedsvcError):
    status, code = 403, "forbidden"


class NotFound(MedsvcError):
    status, code = 404, "not-found"


class MethodNotAllowed(MedsvcError):
    status, code = 405, "not-supported"


class NotAcceptable(MedsvcError):
    status, code = 406, "not-supported"


class Conflict(MedsvcError):
    status, code = 409, "conflict"


class ConcurrentMatch(Conflict):
    """A resource matching a condition was created by a transaction that committed meanwhile:
    running the whole request again finds it."""


class Gone(MedsvcError):
    status, code = 410, "deleted"


class PreconditionFailed(MedsvcError):
    status, code = 412, "conflict"


class MultipleMatches(PreconditionFailed):
    code = "multiple-matches"


class PayloadTooLarge(MedsvcError):
    status, code = 413, "too-costly"


class UnsupportedMediaType(MedsvcError):
    status, code = 415, "not-supported"


class Unprocessable(MedsvcError):
    status, code = 422, "processing"


class BusinessRule(Unprocessable):
    code = "business-rule"


class TooManyRequests(MedsvcError):
    status, code = 429, "throttled"


class Unavailable(MedsvcError):
    status, code = 503, "transient"


@dataclass
class Outcome:
    """Issues gathered while checking something, raised together when any is an error."""

    issues: list[Issue] = field(default_factory=list)

    def add(self, diagnostics: str, code: str, expression: str) -> None:
        self.issues.append(Issue(diagnostics, code, expression=(expression,)))

    def raise_if_errors(self, error: type[MedsvcError]) -> None:
        if self.issues:
            raise error(self.issues[0].diagnostics, issues=self.issues)


def operation_outcome(issues: list[Issue]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": [i.to_fhir() for i in capped(issues)]}


def information(diagnostics: str) -> dict[str, Any]:
    return operation_outcome([Issue(diagnostics, "informational", "information")])


# What a database error is answered with, whichever statement raised it: a key a concurrent
# change took first, a value a column cannot store, a database busy or out of reach.
DATABASE_ERRORS: dict[type[exc.DBAPIError], tuple[type[MedsvcError], str]] = {
    exc.IntegrityError: (Conflict, "A concurrent change conflicted; retry"),
    exc.DataError: (Invalid, "The request holds a value the database cannot store"),
    exc.OperationalError: (Unavailable, "The database is unavailable; retry shortly"),
}


def database_error(error: BaseException) -> MedsvcError | None:
    """The error a database error is answered with; None for any other error."""
    for kind, (answer, diagnostics) in DATABASE_ERRORS.items():
        if isinstance(error, kind):
            return answer(diagnostics)
    return None


def error_status(error: BaseException) -> int:
    """The HTTP status an error will be answered with (for the audit trail, before it is)."""
    answer = error if isinstance(error, MedsvcError) else database_error(error)
    return answer.status if answer is not None else 500
