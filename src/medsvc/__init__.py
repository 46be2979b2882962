"""medsvc: a city hospital reservation and medical results service."""
