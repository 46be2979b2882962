"""The app's pages: one module per page or group of pages, each a view over FHIR calls."""
