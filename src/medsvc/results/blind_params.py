"""Which search parameters of the results' types are indexed as blind index tokens: the codes
and categories that say what was tested, found or sent (an HIV test, a pregnancy test)."""

BLINDED = {
    "DiagnosticReport": frozenset({"code", "category", "conclusion"}),
    "Observation": frozenset(
        {
            "code",
            "category",
            "component-code",
            "combo-code",
            "value-concept",
            "component-value-concept",
            "combo-value-concept",
            "data-absent-reason",
            "component-data-absent-reason",
            "combo-data-absent-reason",
            "method",
        }
    ),
    "ServiceRequest": frozenset({"code", "category", "body-site", "performer-type"}),
    "Specimen": frozenset({"type", "bodysite"}),
    "DocumentReference": frozenset({"type", "category", "event", "facility", "setting"}),
}
