"""Blind index tokens match equal values and reveal nothing else."""

from pathlib import Path

import pytest

from medsvc.crypto import blind_index
from medsvc.crypto.blind_index import BlindIndex


def test_tokens_are_stable_and_separate_values_purposes_and_keys() -> None:
    index = BlindIndex(b"k" * 32)
    token = index.token("code", "http://loinc.org|2345-7")
    assert token == index.token("code", "http://loinc.org|2345-7")
    assert "2345" not in token
    assert token != index.token("code", "http://loinc.org|2345-8")
    assert token != index.token("category", "http://loinc.org|2345-7")
    assert token != BlindIndex(b"j" * 32).token("code", "http://loinc.org|2345-7")


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="256 bits"):
        BlindIndex(b"short")


def test_the_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = blind_index.load_or_create(tmp_path).token("code", "x")
    assert blind_index.load_or_create(tmp_path).token("code", "x") == first
    assert len(list(tmp_path.glob("*.hmac"))) == 1
    assert (next(tmp_path.glob("*.hmac")).stat().st_mode & 0o777) == 0o600
