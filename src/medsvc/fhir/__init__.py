"""Generic FHIR R4B REST: store, search, bundles and conformance. Knows no domain."""
