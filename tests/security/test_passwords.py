"""Argon2id at OWASP's parameters; an unknown account fails like a wrong password."""

from argon2 import extract_parameters

from medsvc.security.passwords import hash_password, verify_password


def test_hash_is_argon2id_at_owasp_parameters() -> None:
    stored = hash_password("correct horse battery staple")
    assert stored.startswith("$argon2id$")
    parameters = extract_parameters(stored)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (19456, 2, 1)
    assert stored != hash_password("correct horse battery staple")  # salted


def test_verify() -> None:
    stored = hash_password("correct horse battery staple")
    assert verify_password(stored, "correct horse battery staple")
    assert not verify_password(stored, "correct horse battery stapl")
    assert not verify_password(None, "correct horse battery staple")
    assert not verify_password("not a hash", "correct horse battery staple")
