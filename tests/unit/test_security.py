from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from publisher.core.security import (
    CredentialBox,
    hash_api_key,
    key_matches,
    mint_api_key,
    split_api_key,
)


def test_minted_key_has_its_prefix_and_matches_only_itself():
    key = mint_api_key()
    assert split_api_key(key.secret) == key.prefix
    stored = hash_api_key(key.secret)
    assert key_matches(key.secret, stored)
    assert not key_matches(key.secret + "x", stored)
    assert key.secret not in repr(key)


@pytest.mark.parametrize("presented", ["", "pub", "pub_short_x", "xyz_abcdefgh_secret"])
def test_malformed_keys_have_no_prefix(presented):
    assert split_api_key(presented) is None


def test_credentials_round_trip_and_survive_key_rotation():
    old = CredentialBox(("old-secret",))
    sealed = old.seal({"access_token": "t0ken"})
    assert b"t0ken" not in sealed
    rotated = CredentialBox(("new-secret", "old-secret"))
    assert rotated.open(sealed) == {"access_token": "t0ken"}
    resealed = rotated.seal({"access_token": "t0ken"})
    with pytest.raises(ValueError):
        old.open(resealed)
    assert CredentialBox(("new-secret",)).open(resealed) == {"access_token": "t0ken"}


def test_a_fernet_key_is_used_as_given():
    key = Fernet.generate_key().decode()
    sealed = CredentialBox((key,)).seal({"a": 1})
    assert Fernet(key.encode()).decrypt(sealed) == b'{"a": 1}'


def test_no_keys_is_an_error():
    with pytest.raises(ValueError):
        CredentialBox(())
