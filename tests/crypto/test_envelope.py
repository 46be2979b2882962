"""Sealed records open only with their key, in their place, and unchanged."""

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from medsvc.crypto.envelope import (
    FORMAT,
    NONCE_BYTES,
    DataKey,
    SealBroken,
    key_id_of,
    open_sealed,
    seal,
)

KEY = DataKey("k1", AESGCM.generate_key(bit_length=256))
PLACE = {"patient": "p1", "type": "Observation", "id": "o1", "version": "3"}
RECORD = b'{"resourceType":"Observation","valueString":"marker-7f3a"}'


def test_a_sealed_record_opens_in_its_place() -> None:
    sealed = seal(KEY, RECORD, PLACE)
    assert open_sealed(KEY, sealed, PLACE) == RECORD
    assert b"marker-7f3a" not in sealed
    assert sealed[0] == FORMAT
    assert key_id_of(sealed) == "k1"


def test_each_seal_has_a_fresh_nonce() -> None:
    sealed = [seal(KEY, RECORD, PLACE) for _ in range(200)]
    start = 2 + len("k1")
    nonces = {s[start : start + NONCE_BYTES] for s in sealed}
    assert len(nonces) == 200
    assert len(set(sealed)) == 200


@pytest.mark.parametrize("element", sorted(PLACE))
def test_a_record_moved_to_another_place_does_not_open(element: str) -> None:
    sealed = seal(KEY, RECORD, PLACE)
    with pytest.raises(SealBroken):
        open_sealed(KEY, sealed, {**PLACE, element: PLACE[element] + "x"})


def test_every_flipped_byte_is_found() -> None:
    sealed = seal(KEY, RECORD, PLACE)
    for position in range(len(sealed)):
        changed = bytearray(sealed)
        changed[position] ^= 0x01
        with pytest.raises(SealBroken):
            open_sealed(KEY, bytes(changed), PLACE)


@pytest.mark.parametrize("length", [0, 1, 3, 2 + 2 + NONCE_BYTES, 2 + 2 + NONCE_BYTES + 15])
def test_a_truncated_record_does_not_open(length: int) -> None:
    with pytest.raises(SealBroken):
        open_sealed(KEY, seal(KEY, RECORD, PLACE)[:length], PLACE)


def test_another_key_does_not_open_it() -> None:
    sealed = seal(KEY, RECORD, PLACE)
    with pytest.raises(SealBroken):
        open_sealed(DataKey("k1", os.urandom(32)), sealed, PLACE)
    with pytest.raises(SealBroken):
        open_sealed(DataKey("k2", KEY.secret), sealed, PLACE)


def test_the_key_is_not_in_its_repr() -> None:
    assert KEY.secret.hex() not in repr(KEY)
    assert str(KEY.secret) not in repr(KEY)
