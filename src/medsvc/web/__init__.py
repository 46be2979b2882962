"""The citizens' and doctors' app at /app/: a SMART client of this server (backend-for-frontend)
that renders pages from the FHIR API called with the signed-in person's own token."""
