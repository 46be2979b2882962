"""Who may read and write whose data, as policy on top of the FHIR engine's scopes and
compartments: the care relationship, break-glass and the role write policy."""
