"""Who may read and write whose data, as policy applied on top of the FHIR engine's scopes
and compartments: the role write policy."""
