"""Envelope encryption of results at rest: key-encryption keys, per-patient data keys, sealed
records and blind index tokens. Knows nothing of FHIR."""
