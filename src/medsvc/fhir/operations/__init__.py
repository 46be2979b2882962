"""The generic $operations of the FHIR layer, one module each."""
