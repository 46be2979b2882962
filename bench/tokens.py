"""Access tokens for a benchmark's medsvc process, signed with its own keys as its
authorization server signs them: a citizen's, for their results, and a hospital system's,
for its lab's pushes. The process verifies them as any other (medsvc_launcher.py, "smart")."""

from pathlib import Path

from medsvc.security.oauth import AuthUrls
from medsvc.security.signing import SigningKeys
from medsvc.security.tokens import TokenService

LIFETIME = 4 * 3600  # longer than any run
CITIZEN_SCOPES = "openid fhirUser launch/patient patient/DiagnosticReport.rs patient/Observation.rs"


def _service(keys_dir: Path, base_url: str) -> TokenService:
    return TokenService(SigningKeys(keys_dir / "signing"), AuthUrls(base_url).issuer, base_url)


def citizen(keys_dir: Path, base_url: str, patient_id: str, scope: str = CITIZEN_SCOPES) -> str:
    """The claims a citizen's sign-in through the city's app gives (user_grants.py); scope:
    what it granted, by default their results to read."""
    claims = {
        "sub": f"bench-citizen-{patient_id}",
        "client_id": "city-app",
        "patient": patient_id,
        "fhirUser": f"Patient/{patient_id}",
        "role": "patient",
        "scope": scope,
    }
    return "Bearer " + _service(keys_dir, base_url).issue(claims, LIFETIME)


def hospital_system(keys_dir: Path, base_url: str, organization_id: str) -> str:
    """The claims a hospital system's backend-services token gives (oauth.py)."""
    claims = {
        "sub": "bench-lab-system",
        "client_id": "bench-lab-system",
        "organization": f"Organization/{organization_id}",
        "scope": "system/*.cruds",
    }
    return "Bearer " + _service(keys_dir, base_url).issue(claims, LIFETIME)
