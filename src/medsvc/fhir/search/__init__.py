"""FHIR search: parse the query, compile it to SQL over the index tables, assemble the Bundle."""
