"""Time-based one-time passwords (RFC 6238): 30-second steps, one step of drift either way,
and each code accepted once (section 5.2)."""

import hmac

import pyotp

STEP_SECONDS = 30
DRIFT_STEPS = 1


def new_secret() -> str:
    return pyotp.random_base32(length=32)  # 160 bits, RFC 4226's recommended length


def provisioning_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name="medsvc")


def accepted_step(secret: str, code: str, now: float, last_step: int | None) -> int | None:
    """The time step the code belongs to, if it is valid now and newer than the last one
    spent; None otherwise."""
    if not (code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP_SECONDS)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if (last_step is None or step > last_step) and hmac.compare_digest(
            totp.generate_otp(step), code
        ):
            return step
    return None
