"""Access tokens verify only when this server signed them, for this FHIR base, now."""

import base64
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from medsvc import clock
from medsvc.errors import Unauthorized
from medsvc.kit import keyfiles
from medsvc.security import signing
from medsvc.security.tokens import SYSTEM_LIFETIME, TokenService

ISSUER, AUDIENCE = "https://city.example/auth", "https://city.example/fhir"
CLAIMS = {"sub": "c1", "client_id": "c1", "scope": "system/*.rs", "platform": True}


@pytest.fixture
def service(tmp_path: Path) -> TokenService:
    return TokenService(signing.SigningKeys(tmp_path / "signing"), ISSUER, AUDIENCE)


def test_round_trip(service: TokenService) -> None:
    claims = service.verify_access_token(service.issue(CLAIMS, SYSTEM_LIFETIME))
    assert {k: claims[k] for k in CLAIMS} == CLAIMS
    assert (claims["iss"], claims["aud"], claims["exp"] - claims["iat"]) == (
        ISSUER,
        AUDIENCE,
        SYSTEM_LIFETIME,
    )


def forged(service: TokenService, **changes: object) -> str:
    """A token like the service's own, altered: other claims, header or key."""
    key = changes.pop("key", service.keys.active())
    header = {"alg": "RS256", "kid": service.keys.active().kid, "typ": "at+jwt"}
    header.update(changes.pop("header", {}))  # type: ignore[call-overload]
    now = int(clock.now().timestamp())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "iat": now, "exp": now + 60, **CLAIMS, **changes}
    return jwt.encode(header, claims, key, algorithms=[str(header["alg"])])  # type: ignore[arg-type]


def test_forged_tokens_are_refused(service: TokenService) -> None:
    assert service.verify_access_token(forged(service))["sub"] == "c1"  # the forger works
    other_key = RSAKey.generate_key(2048, private=True)
    refused = [
        forged(service, key=other_key),
        forged(service, aud="https://other.example/fhir"),
        forged(service, iss="https://other.example/auth"),
        forged(service, exp=int(clock.now().timestamp()) - 120),
        forged(service, header={"typ": "JWT"}),
        forged(service, header={"kid": "unknown"}),
    ]
    unsigned = forged(service).rsplit(".", 1)[0] + "."
    header_none = "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0"  # {"alg":"none","typ":"at+jwt"}
    refused += [unsigned, header_none + "." + forged(service).split(".")[1] + "."]
    tampered = forged(service).split(".")
    tampered[1] = tampered[1][:-2] + ("A" if tampered[1][-2] != "A" else "B") + tampered[1][-1]
    refused += [".".join(tampered), "not-a-jwt", ""]
    for token in refused:
        with pytest.raises(Unauthorized) as caught:
            service.verify_access_token(token)
        assert 'error="invalid_token"' in caught.value.headers["WWW-Authenticate"]


def test_expiry_follows_the_clock(service: TokenService) -> None:
    token = service.issue(CLAIMS, SYSTEM_LIFETIME)
    later = clock.now() + timedelta(seconds=SYSTEM_LIFETIME + 60)
    clock.set_source(lambda: later)
    try:
        with pytest.raises(Unauthorized):
            service.verify_access_token(token)
    finally:
        clock.reset()


def test_a_key_another_process_adds_verifies_at_once_and_a_removed_one_stops(
    tmp_path: Path,
) -> None:
    """Verification looks at the key directory at most once a second, and at once for a kid
    it does not hold: a token signed by a key another process has just made verifies, and a
    key whose file an operator removes stops verifying within that second."""
    directory = tmp_path / "signing"
    here = TokenService(signing.SigningKeys(directory), ISSUER, AUDIENCE)
    there = TokenService(signing.SigningKeys(directory), ISSUER, AUDIENCE)
    by_old_key = here.issue(CLAIMS, SYSTEM_LIFETIME)
    assert here.verify_access_token(by_old_key)["sub"] == "c1"  # the directory just read
    new_kid = signing.rotate(directory)
    by_new_key = there.issue(CLAIMS, SYSTEM_LIFETIME)
    assert jwt.decode(by_new_key, there.keys.active()).header["kid"] == new_kid
    assert here.verify_access_token(by_new_key)["sub"] == "c1"
    old_file = next(p for p in directory.glob("*.pem") if new_kid[:16] not in p.name)
    old_file.unlink()
    time.sleep(keyfiles.RECHECK_SECONDS + 0.1)
    with pytest.raises(Unauthorized):
        here.verify_access_token(by_old_key)
    assert here.verify_access_token(by_new_key)["sub"] == "c1"


@pytest.mark.parametrize("kid", [["a", "list"], {"an": "object"}, 7, None, ""])
def test_a_kid_that_names_no_key_is_refused(service: TokenService, kid: object) -> None:
    """A header as an attacker writes it (no library would): its kid no string."""
    header = {"alg": "RS256", "typ": "at+jwt", "kid": kid}
    written = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    token = ".".join([written, *forged(service).split(".")[1:]])
    with pytest.raises(Unauthorized):
        service.verify_access_token(token)
