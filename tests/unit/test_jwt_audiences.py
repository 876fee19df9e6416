"""The API accepts ID tokens of every app client it lists (mobile apps, web client), no other."""
from __future__ import annotations

import pytest

from chalicelib.adapters.jwt_auth import JwtVerifier
from chalicelib.domain.errors import Unauthorized
from scripts.keys import mint_local_jwt


def test_a_token_for_any_listed_audience_is_accepted_and_another_is_not(keys):
    verifier = JwtVerifier(issuer="spaces-local", audience="mobile-app, web-app", jwks_path=str(keys["paths"]["jwks"]))

    def token(audience):
        return "Bearer " + mint_local_jwt("u-1", keys["paths"]["jwt_private"], keys["kid"], audience=audience)

    assert verifier.verify(token("mobile-app")) == "u-1"
    assert verifier.verify(token("web-app")) == "u-1"
    with pytest.raises(Unauthorized):
        verifier.verify(token("another-app"))
