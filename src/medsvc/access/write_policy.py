"""The role write policy: which resource types each role may create, update (PUT or PATCH)
and delete, checked before every write after the scopes. A scope is an upper bound on what
an app may do, never a grant: a citizen's `patient/*.cruds` still writes no result."""

from sqlalchemy import Connection

from medsvc.access import citizen_patient
from medsvc.access.organizations import DIRECTORY  # what hospitals publish
from medsvc.access.roles import Role, role_of
from medsvc.errors import Forbidden
from medsvc.fhir import WriteEvent
from medsvc.security.context import AuthContext

CREATE, UPDATE, DELETE = "create", "update", "delete"
EVERY_WRITE = frozenset({CREATE, UPDATE, DELETE})
CREATE_UPDATE = frozenset({CREATE, UPDATE})
# What clinicians record about the patients in their care; records are corrected by a new
# version (status amended or entered-in-error), never deleted.
CLINICAL = ("DiagnosticReport", "Observation", "DocumentReference", "Specimen", "ServiceRequest")
# A document's bytes and a record's origin: a practitioner adds them; the hospital's system
# also corrects them (a new version of a report's PDF, docs/results.md).
ATTACHED = ("Binary", "Provenance")

POLICY: dict[Role, dict[str, frozenset[str]]] = {
    Role.CITIZEN: {
        "Patient": frozenset({UPDATE}),  # contact details and preferences only
        "Appointment": CREATE_UPDATE,  # through the booking operations only
        "RelatedPerson": frozenset({UPDATE}),  # ending a proxy only (proxy_ending.py)
    },
    Role.PRACTITIONER: {
        "Appointment": CREATE_UPDATE,
        "AppointmentResponse": CREATE_UPDATE,
        "Communication": CREATE_UPDATE,
        **dict.fromkeys(CLINICAL, CREATE_UPDATE),
        **dict.fromkeys(ATTACHED, frozenset({CREATE})),
    },
    Role.HOSPITAL: {
        "Patient": CREATE_UPDATE,  # erasing a citizen is the operator's, never a hospital's
        "Appointment": EVERY_WRITE,
        "AppointmentResponse": EVERY_WRITE,
        "Communication": EVERY_WRITE,
        "Subscription": EVERY_WRITE,
        "CareTeam": EVERY_WRITE,  # its own practitioners' care of a patient (care_team.py)
        "RelatedPerson": CREATE_UPDATE,  # a proxy recorded in person (proxy_recording.py)
        **dict.fromkeys(sorted(DIRECTORY), EVERY_WRITE),
        **dict.fromkeys(CLINICAL, EVERY_WRITE),
        "Binary": CREATE_UPDATE,  # the server offers no delete of a Binary
        "Provenance": EVERY_WRITE,
    },
    Role.ADMIN: {},
    Role.UNKNOWN: {},
}
# Writes a role makes only as the effect of these $operations (ITI-116/117 and $cancel),
# whose own rules decide what changes; never by plain REST or in a Bundle.
THROUGH_OPERATIONS: dict[tuple[Role, str], frozenset[str]] = {
    (Role.CITIZEN, "Appointment"): frozenset({"hold", "book", "cancel"}),
}
WHY_NOT = {
    Role.CITIZEN: (
        "a citizen's app books with Appointment/$hold, $book and $cancel, changes its "
        "person's contact details, and reads what the hospitals write"
    ),
    Role.PRACTITIONER: (
        "a practitioner records the care of their patients, and corrects a record by a new "
        "version; the hospital's system publishes the directory and registers patients"
    ),
    Role.HOSPITAL: "a citizen's record is erased by the city's operator (medsvc patients erase)",
    Role.ADMIN: "administrators read the audit trail and write nothing",
    Role.UNKNOWN: "the access token names no role that writes",
}
VERB = {CREATE: "create", UPDATE: "change", DELETE: "delete"}


def allowed(role: Role, resource_type: str, interaction: str) -> bool:
    """Whether the policy lets the role make this write at all (the scopes and the
    compartments still decide which resources)."""
    if role is Role.PLATFORM:
        return True
    return interaction in POLICY[role].get(resource_type, frozenset())


def _a(role: Role) -> str:
    return f"{'An' if role[0] in 'aeiou' else 'A'} {role}"


def before_write(_session: Connection, ctx: AuthContext, event: WriteEvent) -> None:
    """The before-write hook on every type, before every other: it needs no query."""
    role = role_of(ctx)
    interaction = event.interaction  # a PATCH arrives as the update it makes
    if not allowed(role, event.resource_type, interaction):
        raise Forbidden(
            f"{_a(role)} may not {VERB.get(interaction, interaction)} {event.resource_type} "
            f"resources: {WHY_NOT[role]}"
        )
    operations = THROUGH_OPERATIONS.get((role, event.resource_type))
    if operations is not None and ctx.operation not in operations:
        named = ", ".join(f"${name}" for name in sorted(operations))
        raise Forbidden(f"{_a(role)} writes {event.resource_type} resources only through {named}")
    if role is Role.CITIZEN and event.resource_type == "Patient":
        citizen_patient.check_change(event.previous, event.resource)
